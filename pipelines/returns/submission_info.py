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


def archived_file(con, submission_id: int) -> tuple[str, str | None, list[str]] | None:
    """(file name as uploaded, archive path, regions) of an accepted submission (None: no such
    accepted submission). The archive path is None when the original was never kept."""
    row = first_row(con.execute(
        "SELECT file_name, archive_path, regions FROM submissions WHERE submission_id = ? "
        "AND status = 'accepted'", [submission_id]))
    return None if row is None else (row[0], row[1], list(row[2] or []))
