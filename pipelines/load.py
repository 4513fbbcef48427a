"""Load validated return rows into the warehouse: one transaction per file, revisions kept.

A row is the tidy form every return layout is extracted to (`ReturnRow`). Loading a file:
- the same content (hash) already accepted → nothing changes;
- a value equal to the current one for (region, indicator, period) → left as it is;
- a different value → the current one is closed (`superseded_at`, `superseded_by`) and the new
  one becomes current; the earlier stays in history with its lineage.
Everything for one file happens in one transaction: a failure leaves no trace.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from .periods import Period


@dataclass
class ReturnRow:
    region_code: str
    indicator_code: str
    period: Period
    numerator: float
    denominator: float | None
    note: str | None = None
    sheet: str = ""
    row_number: int = 0
    numerator_cell: str = ""
    denominator_cell: str | None = None


@dataclass
class SubmissionMeta:
    file_name: str
    content_hash: str
    uploaded_by: str = "cli"
    channel: str = "cli"
    layout: str | None = None
    archive_path: str | None = None
    warnings: list = field(default_factory=list)


@dataclass
class LoadResult:
    submission_id: int | None
    rows: int               # values in the file
    new: int                # values with no earlier value
    revisions: int          # values that superseded an earlier, different value
    unchanged: int          # values equal to the current one
    duplicate_file: bool = False


class _InjectedFailure(RuntimeError):
    pass


def load_rows(con, rows: list[ReturnRow], meta: SubmissionMeta, *,
              now: dt.datetime | None = None, fail_after: int | None = None,
              also=None) -> LoadResult:
    """Load one accepted file's rows. `fail_after` injects a crash (tests of atomicity).

    `also(con, result)` runs inside the same transaction (e.g. the audit line of the load).
    """
    dup = con.execute("SELECT submission_id, row_count FROM submissions "
                      "WHERE content_hash = ? AND status = 'accepted' ORDER BY submission_id LIMIT 1",
                      [meta.content_hash]).fetchone()
    if dup is not None:
        return LoadResult(dup[0], dup[1], 0, 0, dup[1], duplicate_file=True)
    now = now or dt.datetime.now()
    con.execute("BEGIN")
    try:
        result = _load_in_transaction(con, rows, meta, now, fail_after)
        if also is not None:
            also(con, result)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def _load_in_transaction(con, rows, meta, now, fail_after) -> LoadResult:
    regions = sorted({r.region_code for r in rows})
    periods = sorted({r.period.code for r in rows})
    sid = con.execute(
        "INSERT INTO submissions (content_hash, file_name, archive_path, uploaded_by, channel, "
        "uploaded_at, status, layout, row_count, regions, periods, warnings, errors) "
        "VALUES (?, ?, ?, ?, ?, ?, 'accepted', ?, ?, ?, ?, ?, '[]') RETURNING submission_id",
        [meta.content_hash, meta.file_name, meta.archive_path, meta.uploaded_by, meta.channel, now,
         meta.layout, len(rows), regions, periods,
         json.dumps(meta.warnings, ensure_ascii=False, default=str)]).fetchone()[0]

    # Current values for the keys this file touches, fetched in one query.
    keys = ([r.region_code for r in rows], [r.indicator_code for r in rows], [r.period.code for r in rows])
    current = {
        (reg, ind, per): (vid, num, den)
        for vid, reg, ind, per, num, den in con.execute(
            "SELECT v.value_id, v.region_code, v.indicator_code, v.period, v.numerator, v.denominator "
            "FROM return_values v JOIN (SELECT unnest(?::VARCHAR[]) AS region_code, "
            "unnest(?::VARCHAR[]) AS indicator_code, unnest(?::VARCHAR[]) AS period) i "
            "USING (region_code, indicator_code, period) WHERE v.superseded_at IS NULL",
            list(keys)).fetchall()
    }

    changed = [r for r in rows if not _same_as_current(current.get(
        (r.region_code, r.indicator_code, r.period.code)), r)]
    ids = iter(v for (v,) in con.execute(
        "SELECT nextval('value_seq') FROM range(?)", [len(changed)]).fetchall())
    values, lineage, supersede = [], [], []
    new = revisions = unchanged = 0
    for i, r in enumerate(rows):
        if fail_after is not None and i >= fail_after:
            raise _InjectedFailure("injected failure mid-load")
        key = (r.region_code, r.indicator_code, r.period.code)
        old = current.get(key)
        if _same_as_current(old, r):
            unchanged += 1
            continue
        vid = next(ids)
        if old is None:
            new += 1
        else:
            revisions += 1
            supersede.append((now, vid, old[0]))
        values.append((vid, sid, r.region_code, r.indicator_code, r.period.code, r.period.type,
                       r.period.year, r.period.month_from, r.period.month_to, float(r.numerator),
                       None if r.denominator is None else float(r.denominator), r.note, now))
        lineage.append((vid, meta.file_name, r.sheet, r.row_number, r.numerator_cell,
                        r.denominator_cell))
    if values:                 # the figures these values feed are stale from this commit on
        from .metrics.figure_table import mark_values
        mark_values(con, [(v[2], v[3], v[6]) for v in values], now)
    if supersede:
        con.executemany("UPDATE return_values SET superseded_at = ?, superseded_by = ? "
                        "WHERE value_id = ?", supersede)
    if values:
        _insert_rows(con, "return_values", ("value_id", "submission_id", "region_code",
                     "indicator_code", "period", "period_type", "year", "month_from", "month_to",
                     "numerator", "denominator", "note", "loaded_at"), values)
        _insert_rows(con, "value_lineage", ("value_id", "file_name", "sheet", "row_number",
                     "numerator_cell", "denominator_cell"), lineage)
    con.execute("UPDATE submissions SET revision_count = ? WHERE submission_id = ?", [revisions, sid])
    return LoadResult(sid, len(rows), new, revisions, unchanged)


SMALL_INSERT = 2000     # rows; below this one parameterised statement beats a pandas frame


def _insert_rows(con, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert many rows in one statement (DuckDB's executemany costs ~2 ms per row)."""
    if len(rows) <= SMALL_INSERT:
        # One list parameter per column, unnested side by side into the table's own types.
        cols = list(zip(*rows)) if rows else [() for _ in columns]
        con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT "
                    + ", ".join("unnest(?)" for _ in columns), [list(c) for c in cols])
        return
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(columns), dtype=object)
    con.register("_insert_rows", frame)
    try:
        con.execute(f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"SELECT {', '.join(columns)} FROM _insert_rows")
    finally:
        con.unregister("_insert_rows")


def _same_as_current(old, r: ReturnRow) -> bool:
    if old is None or float(old[1]) != float(r.numerator):
        return False
    if old[2] is None or r.denominator is None:
        return old[2] is None and r.denominator is None
    return float(old[2]) == float(r.denominator)


def record_rejection(con, file_name: str, content_hash: str, user: str, channel: str,
                     errors: list, warnings: list, now: dt.datetime | None = None) -> int:
    """Keep a rejected file's outcome (no values) so the 报送 page and audit can show it."""
    return con.execute(
        "INSERT INTO submissions (content_hash, file_name, uploaded_by, channel, uploaded_at, status, "
        "row_count, warnings, errors) VALUES (?, ?, ?, ?, ?, 'rejected', 0, ?, ?) RETURNING submission_id",
        [content_hash, file_name, user, channel, now or dt.datetime.now(),
         json.dumps(warnings, ensure_ascii=False, default=str),
         json.dumps(errors, ensure_ascii=False, default=str)]).fetchone()[0]
