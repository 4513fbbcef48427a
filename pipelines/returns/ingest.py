"""Ingest returns: read, extract, validate (GX, one run per batch), archive, load, audit.

The CLI, the web upload, the HTTP API and the demo all come through `ingest_files`; the server
takes its steps one by one: `check_files` (files read and extracted by bounded worker processes,
pipelines.returns.parse_worker; validated in this process), `archive_checked`, then, holding its write
lock for this step only, `load_checked`. A file is accepted whole or rejected whole: errors
load nothing; a rejected file is recorded with its errors. The original bytes are archived under `<archive_dir>/<hash[:2]>/<sha256>.<ext>` before
anything is loaded. The same content twice is a no-op ("duplicate").
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipelines import db
from pipelines.returns.extract import Extraction, Issue
from pipelines.returns.load import SubmissionMeta, load_many, record_rejection
from pipelines.returns.parse_worker import ParsePool, RegionIndex
from pipelines.returns.validate import CatalogView, FileValidation, validate
from pipelines.returns.workbook import WorkbookError

__all__ = ["CheckedBatch", "FileOutcome", "Issue", "archive_checked", "archive_path_for", "check_files",
           "ingest_files", "load_checked"]


@dataclass
class FileOutcome:
    path: Path | None
    file_name: str
    content_hash: str
    status: str                      # accepted | rejected | duplicate
    rows: int = 0
    new: int = 0
    revisions: int = 0
    unchanged: int = 0
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    submission_id: int | None = None
    scope_violation: bool = False
    layout: str | None = None
    archive_path: str | None = None
    dry_run: bool = False

    def line(self) -> str:
        """One line for the command line, in Chinese, with every error and warning."""
        warn = ""
        if self.warnings:
            warn = f"；警告 {len(self.warnings)} 条：" + "；".join(str(w) for w in self.warnings)
        if self.status == "duplicate":
            return (f"重复 {self.file_name}：与已接收的报送 #{self.submission_id} 内容完全相同，"
                    "未做任何更改")
        if self.status == "rejected":
            return (f"退回 {self.file_name}：{len(self.errors)} 个错误，未载入任何数据：" +
                    "；".join(str(e) for e in self.errors) + warn)
        verb = "校验通过（未写入）" if self.dry_run else "已接收"
        return (f"{verb} {self.file_name}：{self.rows} 行（新增 {self.new}，更正 {self.revisions}，"
                f"未变 {self.unchanged}）" + warn)

    def as_dict(self) -> dict:
        return {"file_name": self.file_name, "content_hash": self.content_hash, "status": self.status,
                "rows": self.rows, "new": self.new, "revisions": self.revisions,
                "unchanged": self.unchanged, "submission_id": self.submission_id,
                "scope_violation": self.scope_violation, "layout": self.layout,
                "errors": [e.as_dict() for e in self.errors],
                "warnings": [w.as_dict() for w in self.warnings]}


def archive_path_for(archive_dir, content_hash: str, file_name: str) -> Path:
    ext = Path(file_name).suffix.lower().lstrip(".") or "bin"
    return Path(archive_dir) / content_hash[:2] / f"{content_hash}.{ext}"


def _archive(archive_dir, content_hash: str, file_name: str, data: bytes) -> Path:
    target = archive_path_for(archive_dir, content_hash, file_name)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + f".{os.getpid()}.part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return target


def _read_input(item) -> tuple[Path | None, str, bytes]:
    """A path, or a (file_name, bytes) pair (web uploads)."""
    if isinstance(item, tuple):
        name, data = item
        return None, str(name), bytes(data)
    path = Path(item)
    return path, path.name, path.read_bytes()


@dataclass
class CheckedBatch:
    """A batch read, extracted and validated (nothing written yet), ready to archive and load."""
    outcomes: list[FileOutcome]
    pending: list[tuple[int, bytes, Extraction, FileValidation]] = field(default_factory=list)
    dry_run: bool = False


def ingest_files(con, paths, *, user: str = "cli", channel: str = "cli", archive_dir="data/raw",
                 allowed_regions: set[str] | None = None, dry_run: bool = False,
                 today: dt.date | None = None, fail_after: int | None = None,
                 now: dt.datetime | list[dt.datetime] | None = None,
                 parser: ParsePool | None = None, refresh: bool = True,
                 answers: dict | None = None) -> list[FileOutcome]:
    """Validate and load a batch of returns; one FileOutcome per input, in order.

    Each load marks the figures it touches stale in its own transaction; with `refresh` the
    figures table is brought up to date once the batch is in (metrics/figure_table.py).

    `now` is the upload time recorded for the submissions (default: the current time), or a
    list with one time per input (the demo replays a history of uploads in one batch).
    `parser` is the pool of bounded workers that read the files (a temporary one when None).

    `dry_run` validates and reports without writing anything (upload preview).
    `answers`: 说明 to warnings by their answer_key (workflow/warning_answers.py).
    `fail_after` injects a crash inside the load transaction (tests of atomicity).
    """
    batch = check_files(con, paths, allowed_regions=allowed_regions, dry_run=dry_run, today=today,
                        parser=parser, now=now, answers=answers)
    if not dry_run:
        archive_checked(batch, archive_dir)
        load_checked(con, batch, user=user, channel=channel, fail_after=fail_after, now=now,
                     refresh=refresh)
    return batch.outcomes


def check_files(con, paths, *, allowed_regions: set[str] | None = None, dry_run: bool = False,
                today: dt.date | None = None, parser: ParsePool | None = None,
                now: dt.datetime | list[dt.datetime] | None = None, answers: dict | None = None,
                defer_answers: bool = False, checker=None) -> CheckedBatch:
    """Read, extract (in bounded worker processes) and validate (GX) a batch; writes nothing.

    Then, for each file without errors: a change to a locked period without an unlock in force
    at `now` (the upload time, one per input or one for all; default the current time) is an
    error (workflow/period_locks.py); `answers` (a warning's answer_key → 说明, the upload
    page's) answer warnings, and a warning of a kind that must be answered left unanswered is
    an error — only marked `required` with `defer_answers` (the page's preview)
    (workflow/warning_answers.py). `checker` runs the GX suites (the server's check workers;
    default this process)."""
    from pipelines.workflow import period_locks, warning_answers
    cat = CatalogView.current(con)
    batch = CheckedBatch([], dry_run=dry_run)
    seen: dict[str, int] = {}
    inputs = []
    for item in paths:
        path, name, data = _read_input(item)
        inputs.append((path, name, data, hashlib.sha256(data).hexdigest()))
    loaded_before = _accepted_by_hash(con, [digest for *_, digest in inputs])
    to_parse: list[tuple[int, str, bytes]] = []
    for path, name, data, digest in inputs:
        out = FileOutcome(path, name, digest, "accepted", dry_run=dry_run)
        batch.outcomes.append(out)
        earlier = loaded_before.get(digest)
        if earlier is not None or digest in seen:
            out.status = "duplicate"
            out.submission_id = earlier[0] if earlier else None
            out.rows = out.unchanged = earlier[1] if earlier else batch.outcomes[seen[digest]].rows
            continue
        seen[digest] = len(batch.outcomes) - 1
        to_parse.append((len(batch.outcomes) - 1, name, data))
    if not to_parse:
        return batch
    owned = parser is None
    parser = parser or ParsePool()
    try:
        parsed = parser.extract_many([(name, data) for _, name, data in to_parse], RegionIndex(cat.region_by_key))
    finally:
        if owned:
            parser.close()
    extractions = []
    for (index, name, _), ex in zip(to_parse, parsed):
        if isinstance(ex, WorkbookError):
            batch.outcomes[index].errors.append(Issue("error", ex.sheet, ex.cell, str(ex)))
            ex = Extraction(name)
        extractions.append(ex)
    checked = validate(con, extractions, allowed_regions=allowed_regions, today=today, catalog=cat,
                       checker=checker)
    lock_cfg, must_answer = period_locks.settings(con), warning_answers.required_kinds(con)   # once a batch
    for (index, _, data), ex, result in zip(to_parse, extractions, checked):
        out = batch.outcomes[index]
        out.layout = ex.layout
        out.errors += result.errors
        out.warnings = result.warnings
        out.scope_violation = result.scope_violation
        if not out.errors:
            at = now[index] if isinstance(now, (list, tuple)) else now
            out.errors += period_locks.refusals(con, result.rows, at, lock_cfg)
            out.errors += warning_answers.apply(con, out.warnings, answers, defer=defer_answers,
                                                required=must_answer)
        if out.errors:
            out.status = "rejected"
        else:
            out.rows = len(result.rows)
            out.new = out.rows
            if dry_run:
                out.new, out.revisions, out.unchanged = _preview_counts(con, result.rows)
        batch.pending.append((index, data, ex, result))
    return batch


def archive_checked(batch: CheckedBatch, archive_dir) -> None:
    """Keep every checked original under archive_dir by content hash (before anything is loaded)."""
    for index, data, _, _ in batch.pending:
        out = batch.outcomes[index]
        out.archive_path = str(_archive(archive_dir, out.content_hash, out.file_name, data))


def load_checked(con, batch: CheckedBatch, *, user: str = "cli", channel: str = "cli",
                 fail_after: int | None = None,
                 now: dt.datetime | list[dt.datetime] | None = None,
                 refresh: bool = True) -> list[FileOutcome]:
    """Record the rejected files, then load the accepted ones together in one transaction
    (load.load_many: set-based, the only step that writes — the server holds its write lock for
    this alone); then, with `refresh`, bring the figures the loads marked stale up to date
    (metrics/figure_table.py)."""
    files, accepted = [], []
    for index, _, ex, result in batch.pending:
        out = batch.outcomes[index]
        at = now[index] if isinstance(now, (list, tuple)) else now
        if out.status == "rejected":
            _record_rejected(con, out, user, channel, at)
            continue
        files.append((result.rows, SubmissionMeta(out.file_name, out.content_hash, user, channel, ex.layout,
                                                  out.archive_path, [w.as_dict() for w in out.warnings]), at))
        accepted.append(out)

    def audit(con, results):
        db.audit_many(con, [(user, "ingest", out.file_name, "accepted",
                             {"channel": channel, "content_hash": out.content_hash,
                              "submission_id": loaded.submission_id, "rows": loaded.rows, "new": loaded.new,
                              "revisions": loaded.revisions, "warnings": len(out.warnings)})
                            for out, loaded in zip(accepted, results) if not loaded.duplicate_file])
        from pipelines.workflow.review import link_corrections     # a corrected upload answers the return it follows
        link_corrections(con, [loaded.submission_id for loaded in results if not loaded.duplicate_file])
        from pipelines.workflow.warning_answers import record as record_answers
        for out, loaded, (_, _, at) in zip(accepted, results, files):
            if not loaded.duplicate_file:
                record_answers(con, loaded.submission_id, out.warnings, user, at)
    results = load_many(con, files, fail_after=fail_after, also=audit) if files else []
    for out, loaded in zip(accepted, results):
        out.submission_id = loaded.submission_id
        if loaded.duplicate_file:
            out.status = "duplicate"
        out.rows, out.new, out.revisions, out.unchanged = loaded.rows, loaded.new, loaded.revisions, loaded.unchanged
    if refresh and any(o.status == "accepted" and (o.new or o.revisions) for o in batch.outcomes):
        from pipelines.metrics.figure_table import refresh as refresh_figures
        refresh_figures(con)
    return batch.outcomes


def _accepted_by_hash(con, digests: list[str]) -> dict[str, tuple[int, int]]:
    """content hash -> (first accepted submission_id, row_count), for the hashes already loaded."""
    if not digests:
        return {}
    rows = con.execute(
        "SELECT content_hash, min(submission_id), arg_min(row_count, submission_id) FROM submissions "
        "WHERE status = 'accepted' AND content_hash IN (SELECT unnest(?::VARCHAR[])) GROUP BY ALL",
        [sorted(set(digests))]).fetchall()
    return {h: (sid, n) for h, sid, n in rows}


def _record_rejected(con, out: FileOutcome, user: str, channel: str, now: dt.datetime | None = None) -> None:
    with db.transaction(con):
        out.submission_id = record_rejection(con, out.file_name, out.content_hash, user, channel,
                                             [e.as_dict() for e in out.errors],
                                             [w.as_dict() for w in out.warnings], now=now)
        con.execute("UPDATE submissions SET archive_path = ?, layout = ? WHERE submission_id = ?",
                    [out.archive_path, out.layout, out.submission_id])
        db.audit(con, user, "ingest", out.file_name, "rejected",
                 {"channel": channel, "content_hash": out.content_hash, "submission_id": out.submission_id,
                  "errors": [str(e) for e in out.errors[:50]], "error_count": len(out.errors),
                  "scope_violation": out.scope_violation})


def _preview_counts(con, rows) -> tuple[int, int, int]:
    """(new, revisions, unchanged) the rows would produce, read-only."""
    new = revisions = unchanged = 0
    for r in rows:
        cur = con.execute("SELECT numerator, denominator FROM return_values WHERE region_code = ? AND "
                          "indicator_code = ? AND period = ? AND superseded_at IS NULL",
                          [r.region_code, r.indicator_code, r.period.code]).fetchone()
        if cur is None:
            new += 1
        elif float(cur[0]) == float(r.numerator) and (cur[1] is None) == (r.denominator is None) and \
                (cur[1] is None or float(cur[1]) == float(r.denominator)):
            unchanged += 1
        else:
            revisions += 1
    return new, revisions, unchanged
