"""Load validated return rows into the warehouse: one transaction per batch, revisions kept.

A row is the tidy form every return layout is extracted to (`ReturnRow`). Loading a file:
- the same content (hash) already accepted → nothing changes;
- a value equal to the current one for (region, indicator, period) → left as it is;
- a different value → the current one is closed (`superseded_at`, `superseded_by`) and the new
  one becomes current; the earlier stays in history with its lineage.
Everything for one batch of files (`load_many`; `load_rows` is a batch of one) happens in one
transaction with set-based statements: a failure leaves no trace of any of its files.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from pipelines.db import transaction
from pipelines.periods import Period


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
    return load_many(con, [(rows, meta, now)], fail_after=fail_after,
                     also=None if also is None else (lambda con, results: also(con, results[0])))[0]


def load_many(con, files: list[tuple[list[ReturnRow], SubmissionMeta, dt.datetime | None]], *,
              fail_after: int | None = None, also=None) -> list[LoadResult]:
    """Load accepted files — (rows, meta, upload time) each, in order: a later file revises an
    earlier one's values — in one transaction, with a fixed number of set-based statements
    whatever the number of files (a batch of 1,000 returns is a few statements, not 8,000).

    A file whose content (hash) is already accepted, or repeats one earlier in the batch, loads
    nothing (`duplicate_file`). `also(con, results)` runs inside the same transaction (the audit
    lines). A failure leaves no trace of any file of the batch.
    """
    hashes = sorted({m.content_hash for _, m, _ in files})
    known = {h: (sid, n) for h, sid, n in con.execute(
        "SELECT content_hash, min(submission_id), arg_min(row_count, submission_id) FROM submissions "
        "WHERE status = 'accepted' AND content_hash IN (SELECT unnest(?::VARCHAR[])) GROUP BY ALL",
        [hashes]).fetchall()} if hashes else {}
    with transaction(con):
        results = _load_in_transaction(con, files, known, fail_after)
        if also is not None:
            also(con, results)
    return results


VALUE_COLUMNS = ("value_id", "submission_id", "region_code", "indicator_code", "period", "period_type",
                 "year", "month_from", "month_to", "numerator", "denominator", "note", "loaded_at",
                 "superseded_at", "superseded_by")
LINEAGE_COLUMNS = ("value_id", "file_name", "sheet", "row_number", "numerator_cell", "denominator_cell")
SUBMISSION_COLUMNS = ("submission_id", "content_hash", "file_name", "archive_path", "uploaded_by", "channel",
                      "uploaded_at", "status", "layout", "row_count", "regions", "periods", "warnings",
                      "errors", "revision_count")


def _load_in_transaction(con, files, known: dict, fail_after) -> list[LoadResult]:
    todo = []                                   # (index, rows, meta, now) of the files that load
    results: list[LoadResult | None] = [None] * len(files)
    seen = dict(known)
    for k, (rows, meta, now) in enumerate(files):
        if meta.content_hash in seen:
            sid, n = seen[meta.content_hash]
            results[k] = LoadResult(sid, n, 0, 0, n, duplicate_file=True)
        else:
            todo.append((k, rows, meta, now or dt.datetime.now()))
            seen[meta.content_hash] = (None, len(rows))
    if not todo:
        return results
    sids = [v for (v,) in con.execute("SELECT nextval('submission_seq') FROM range(?)",
                                      [len(todo)]).fetchall()]

    # Current values of every key the batch touches, in one query.
    keys = {(r.region_code, r.indicator_code, r.period.code) for _, rows, _, _ in todo for r in rows}
    cols = list(zip(*sorted(keys)))
    current = {
        (reg, ind, per): (vid, num, den, None)      # (value_id, numerator, denominator, row in batch)
        for vid, reg, ind, per, num, den in con.execute(
            "SELECT v.value_id, v.region_code, v.indicator_code, v.period, v.numerator, v.denominator "
            "FROM return_values v JOIN (SELECT unnest(?::VARCHAR[]) AS region_code, "
            "unnest(?::VARCHAR[]) AS indicator_code, unnest(?::VARCHAR[]) AS period) i "
            "USING (region_code, indicator_code, period) WHERE v.superseded_at IS NULL",
            [list(c) for c in cols]).fetchall()}
    n_changed = sum(1 for _, rows, _, _ in todo for r in rows)     # an upper bound of new ids
    ids = iter(v for (v,) in con.execute("SELECT nextval('value_seq') FROM range(?)",
                                         [n_changed]).fetchall())

    values, lineage, supersede, submissions, marks = [], [], [], [], set()
    confirmed = set()                           # (submission, value) sent again unchanged
    loaded = 0
    for (k, rows, meta, now), sid in zip(todo, sids):
        new = revisions = unchanged = 0
        for r in rows:
            if fail_after is not None and loaded >= fail_after:
                raise _InjectedFailure("injected failure mid-load")
            loaded += 1
            key = (r.region_code, r.indicator_code, r.period.code)
            old = current.get(key)
            if _same_as_current(old, r):
                unchanged += 1
                confirmed.add((sid, old[0]))
                continue
            vid = next(ids)
            if old is None:
                new += 1
            else:
                revisions += 1
                if old[3] is None:                   # a value in the warehouse
                    supersede.append((now, vid, old[0]))
                else:                                # a value an earlier file of this batch brought
                    values[old[3]][13:15] = [now, vid]
            current[key] = (vid, r.numerator, r.denominator, len(values))
            values.append([vid, sid, r.region_code, r.indicator_code, r.period.code, r.period.type,
                           r.period.year, r.period.month_from, r.period.month_to, float(r.numerator),
                           None if r.denominator is None else float(r.denominator), r.note, now,
                           None, None])
            lineage.append((vid, meta.file_name, r.sheet, r.row_number, r.numerator_cell,
                            r.denominator_cell))
            marks.add((r.region_code, r.indicator_code, r.period.year, now))
        submissions.append((sid, meta.content_hash, meta.file_name, meta.archive_path, meta.uploaded_by,
                            meta.channel, now, "accepted", meta.layout, len(rows),
                            sorted({r.region_code for r in rows}), sorted({r.period.code for r in rows}),
                            json.dumps(meta.warnings, ensure_ascii=False, default=str), "[]", revisions))
        results[k] = LoadResult(sid, len(rows), new, revisions, unchanged)
        seen[meta.content_hash] = (sid, len(rows))

    _insert_rows(con, "submissions", SUBMISSION_COLUMNS, submissions)
    if marks:                  # the figures these values feed are stale from this commit on
        from pipelines.metrics.figure_table import mark_values
        mark_values(con, [m[:3] for m in marks], max(m[3] for m in marks))
    if supersede:
        _update_superseded(con, supersede)
    if values:
        _insert_rows(con, "return_values", VALUE_COLUMNS, [tuple(v) for v in values])
        _insert_rows(con, "value_lineage", LINEAGE_COLUMNS, lineage)
    if confirmed:              # approving this upload approves them too (metrics: review state)
        _insert_rows(con, "value_confirmations", ("submission_id", "value_id"), sorted(confirmed))
    return results


def _update_superseded(con, supersede: list[tuple]) -> None:
    """Close the values revised (superseded_at, superseded_by) in one statement."""
    cols = list(zip(*supersede))
    con.execute("""
        UPDATE return_values AS v SET superseded_at = u.at, superseded_by = u.by
        FROM (SELECT unnest(?::TIMESTAMP[]) AS at, unnest(?::BIGINT[]) AS by,
                     unnest(?::BIGINT[]) AS id) u
        WHERE v.value_id = u.id""", [list(c) for c in cols])


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
