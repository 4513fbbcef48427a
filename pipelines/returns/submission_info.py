"""Small facts about a loaded submission that the web layer shows or checks."""
from __future__ import annotations

from pipelines.db import first_row


def submission_regions(con, submission_id: int) -> list[str] | None:
    """The regions a submission's rows cover (None: no such submission)."""
    row = first_row(con.execute("SELECT regions FROM submissions WHERE submission_id = ?",
                                [submission_id]))
    return None if row is None else list(row[0] or [])


def submission_place(con, submission_id: int) -> tuple[str, str] | None:
    """(jurisdiction, first period) of a submission: where the overview shows it."""
    row = first_row(con.execute(
        "SELECT r.jurisdiction_code, s.periods[1] FROM submissions s JOIN regions r "
        "ON r.code = s.regions[1] WHERE s.submission_id = ?", [submission_id]))
    return None if row is None else (row[0], row[1])
