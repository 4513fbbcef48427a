"""Review (审核) of accepted submissions by the parent level: 待审核 → 通过 | 退回 (with a comment).

An accepted submission without a row in `submission_reviews` is 待审核 (migration 7 marked every
submission accepted before it as 通过). A reviewer is an admin, or a reporter whose region is a
strict ancestor of every region of the submission (the city bureau for its 镇街/区县). A decision
is final: a returned file is answered by a corrected upload of the same regions and periods,
which `link_corrections` links to it (`submission_corrections`) when it is loaded. Every decision
goes to the audit log (actions review.approve / review.return). Review does not change which
values are in force: figures read the values loaded, whatever their review state, and mark
those that count a value not approved (metrics `unreviewed`); `Metrics(reviewed_only=True)`
(the bulletin by default) counts approved values only. A decision therefore marks the figures
of the submission's values stale (figure_table.mark_values) in its own transaction.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from pipelines.accounts import users as accounts
from pipelines import db

MAX_COMMENT = 500
STATE_LABELS = {"pending": "待审核", "approved": "通过", "returned": "退回"}
DECISIONS = {"approve": "approved", "reject": "returned", "return": "returned"}


class ReviewError(Exception):
    """A refused review, in Chinese; `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclass
class Submission:
    submission_id: int
    file_name: str
    uploaded_by: str
    uploaded_at: dt.datetime
    status: str                       # accepted | rejected (the file's validation)
    regions: list[str]
    periods: list[str]
    warnings: list
    state: str | None                 # pending | approved | returned; None for a rejected file
    reviewer: str | None = None
    comment: str | None = None
    decided_at: dt.datetime | None = None
    corrects_id: int | None = None
    answers: list = field(default_factory=list)   # 说明 to its warnings (workflow/warning_answers.py)

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, "被拒收")


_SELECT = ("SELECT s.submission_id, s.file_name, s.uploaded_by, s.uploaded_at, s.status, s.regions, "
           "s.periods, s.warnings, r.decision, r.reviewer, r.comment, r.decided_at, c.corrects_id "
           "FROM submissions s LEFT JOIN submission_reviews r USING (submission_id) "
           "LEFT JOIN submission_corrections c ON c.submission_id = s.submission_id ")


def _row(row) -> Submission:
    warnings = json.loads(row[7]) if row[7] else []
    state = None if row[4] != "accepted" else (row[8] or "pending")
    return Submission(int(row[0]), row[1], row[2], row[3], row[4], list(row[5] or []), list(row[6] or []),
                      warnings, state, row[9], row[10], row[11], row[12])


def _with_answers(con, subs: list[Submission]) -> list[Submission]:
    """Each submission with the answers (说明) to its warnings, for the reviewer."""
    from pipelines.workflow.warning_answers import for_submissions
    found = for_submissions(con, [s.submission_id for s in subs])
    for s in subs:
        s.answers = found.get(s.submission_id, [])
    return subs


def get(con, submission_id: int) -> Submission | None:
    row = con.execute(_SELECT + "WHERE s.submission_id = ?", [int(submission_id)]).fetchone()
    return _with_answers(con, [_row(row)])[0] if row else None


def reviewable_regions(con, user) -> set[str] | None:
    """Regions whose submissions the user may review: None = any (admin); a reporter's regions
    strictly below its own; empty for viewers and reporters without a lower level."""
    if user is None or user.role == "viewer":
        return set()
    if user.role == "admin":
        return None
    allowed = accounts.allowed_regions(con, user) or set()
    return set(allowed) - {user.region_code}


def may_review(con, user, sub: Submission) -> bool:
    scope = reviewable_regions(con, user)
    return scope is None or (bool(sub.regions) and set(sub.regions) <= scope)


def pending(con, user) -> list[Submission]:
    """The user's review queue: pending submissions in its scope, oldest first."""
    scope = reviewable_regions(con, user)
    if scope is not None and not scope:
        return []
    rows = con.execute(_SELECT + "WHERE s.status = 'accepted' AND r.decision IS NULL "
                       "ORDER BY s.uploaded_at, s.submission_id").fetchall()
    subs = [_row(r) for r in rows]
    return _with_answers(con, [s for s in subs if scope is None or (s.regions and set(s.regions) <= scope)])


def values_with_diff(con, submission_id: int) -> list[dict]:
    """The submission's values and the value each replaced (None when it was new)."""
    rows = con.execute(
        "SELECT v.region_code, g.name, i.name, v.indicator_code, v.period, v.numerator, v.denominator, "
        "o.numerator, o.denominator, o.submission_id "
        "FROM return_values v JOIN indicators i ON i.code = v.indicator_code "
        "JOIN regions g ON g.code = v.region_code "
        "LEFT JOIN return_values o ON o.superseded_by = v.value_id "
        "WHERE v.submission_id = ? ORDER BY g.sort_order, i.sort_order, v.period",
        [int(submission_id)]).fetchall()
    return [{"region_code": r[0], "region": r[1], "indicator": r[2], "indicator_code": r[3], "period": r[4],
             "numerator": r[5], "denominator": r[6], "old_numerator": r[7], "old_denominator": r[8],
             "old_submission_id": r[9]} for r in rows]


def decide(con, submission_id, user, decision: str, comment: str | None = None,
           now: dt.datetime | None = None) -> Submission:
    """通过 or 退回 one pending submission; raises ReviewError (nothing changed) otherwise."""
    if decision not in DECISIONS:
        raise ReviewError("审核结论无效：应为 approve（通过）或 reject（退回）", 400)
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ReviewError(f"审核意见过长：最多 {MAX_COMMENT} 个字，当前 {len(comment)} 个字", 422)
    if DECISIONS[decision] == "returned" and not comment:
        raise ReviewError("退回时须填写审核意见，说明退回原因和修改要求", 422)
    try:
        sid = int(submission_id)
    except (TypeError, ValueError):
        raise ReviewError(f"报送编号“{submission_id}”无效", 404) from None
    if user is None or user.role not in ("reporter", "admin"):
        raise ReviewError("当前账户无审核权限：审核须由上级单位的填报员或管理员进行", 403)
    sub = get(con, sid)
    if sub is None:
        raise ReviewError(f"报送 #{sid} 不存在", 404)
    if sub.status != "accepted":
        raise ReviewError(f"报送 #{sid}（{sub.file_name}）未通过校验、已被拒收，没有可审核的数据", 422)
    if sub.state != "pending":
        raise ReviewError(f"报送 #{sid}（{sub.file_name}）已于 {sub.decided_at:%Y-%m-%d %H:%M} 由 "
                          f"{sub.reviewer} 审核为“{sub.state_label}”，不能重复审核", 409)
    if not may_review(con, user, sub):
        raise ReviewError(f"账户 {user.name} 无权审核报送 #{sid}：只能审核本单位下级地区的报送"
                          f"（该文件地区：{'、'.join(sub.regions)}）", 403)
    state = DECISIONS[decision]
    at = now or dt.datetime.now()
    with db.transaction(con):
        con.execute("INSERT INTO submission_reviews VALUES (?, ?, ?, ?, ?)", [sid, state, user.name, comment, at])
        db.audit(con, user.name, "review.approve" if state == "approved" else "review.return", sub.file_name,
                 "ok", {"submission_id": sid, "uploaded_by": sub.uploaded_by, "regions": sub.regions,
                        "periods": sub.periods, "comment": comment})
        _mark_figures(con, [sid], at)
    return get(con, sid)


def _mark_figures(con, submission_ids: list[int], at: dt.datetime) -> None:
    """The figures counting a value of these submissions (loaded or confirmed by them) are stale:
    their unreviewed mark and their reviewed-only value change with the decision."""
    from pipelines.metrics.figure_table import mark_values
    keys = con.execute(
        "SELECT DISTINCT v.region_code, v.indicator_code, v.year FROM return_values v "
        "WHERE v.submission_id IN (SELECT unnest(?::BIGINT[])) OR v.value_id IN "
        "(SELECT value_id FROM value_confirmations WHERE submission_id IN (SELECT unnest(?::BIGINT[])))",
        [submission_ids, submission_ids]).fetchall()
    mark_values(con, [tuple(k) for k in keys], at)


def link_corrections(con, submission_ids: list[int], now: dt.datetime | None = None) -> int:
    """Link each newly loaded submission to the latest returned, not yet corrected submission of
    the same regions and periods (called inside the load's transaction). Returns links made.

    One query finds every candidate pair; they are then taken in upload order, so that two new
    submissions of a batch that follow the same returned one link it once (the first), the
    second taking the next older one if any — as if each had been loaded alone."""
    if not submission_ids:
        return 0
    pairs = con.execute(
        "WITH n AS (SELECT submission_id, list_sort(regions) AS rg, list_sort(periods) AS pe FROM submissions "
        "           WHERE submission_id IN (SELECT unnest(?::BIGINT[]))), "
        "o AS (SELECT s.submission_id, list_sort(s.regions) AS rg, list_sort(s.periods) AS pe "
        "      FROM submissions s JOIN submission_reviews r "
        "      ON r.submission_id = s.submission_id AND r.decision = 'returned' "
        "      WHERE s.submission_id NOT IN (SELECT corrects_id FROM submission_corrections)) "
        "SELECT n.submission_id, o.submission_id FROM n JOIN o ON o.rg = n.rg AND o.pe = n.pe "
        "AND o.submission_id < n.submission_id ORDER BY n.submission_id, o.submission_id DESC",
        [[int(s) for s in submission_ids]]).fetchall()
    taken: set[int] = set()
    links = []
    for sid in sorted({n for n, _ in pairs}):
        for n, o in pairs:
            if n == sid and o not in taken:
                taken.add(o)
                links.append([sid, o, now or dt.datetime.now()])
                break
    if links:
        con.executemany("INSERT INTO submission_corrections VALUES (?, ?, ?)", links)
    return len(links)


def returned_to(con, user_name: str) -> list[Submission]:
    """Returned submissions of this uploader not yet answered by a corrected upload, newest first."""
    rows = con.execute(_SELECT + "WHERE s.uploaded_by = ? AND r.decision = 'returned' "
                       "AND s.submission_id NOT IN (SELECT corrects_id FROM submission_corrections) "
                       "ORDER BY r.decided_at DESC", [user_name]).fetchall()
    return [_row(r) for r in rows]


def approve_all_pending(con, reviewer: str, comment: str, now: dt.datetime | None = None,
                        *, at_upload: bool = False) -> int:
    """Mark every pending submission 通过 (the demo reviews its own uploads), one audit line.
    `at_upload`: each decided at its own upload time (a replay of the past shows it reviewed)."""
    ids = [r[0] for r in con.execute(
        "SELECT s.submission_id FROM submissions s LEFT JOIN submission_reviews r USING (submission_id) "
        "WHERE s.status = 'accepted' AND r.decision IS NULL").fetchall()]
    if ids:
        at = now or dt.datetime.now()
        with db.transaction(con):
            con.execute("INSERT INTO submission_reviews SELECT s.submission_id, 'approved', ?, ?, "
                        "CASE WHEN ? THEN s.uploaded_at ELSE ?::TIMESTAMP END FROM submissions s "
                        "WHERE s.submission_id IN (SELECT unnest(?::BIGINT[]))",
                        [reviewer, comment, at_upload, at, ids])
            db.audit(con, reviewer, "review.approve", None, "ok", {"count": len(ids), "comment": comment})
            _mark_figures(con, ids, at)
    return len(ids)


def _period_label(code: str) -> str:
    from pipelines.periods import PeriodError, parse_period
    try:
        return parse_period(code).label
    except PeriodError:
        return code


def _warning_text(w) -> str:
    if isinstance(w, dict):
        where = "!".join(str(x) for x in (w.get("sheet"), w.get("cell")) if x)
        return f"{where}：{w.get('message')}" if where else str(w.get("message"))
    return str(w)


def describe(con, sub: Submission, *, with_values: bool = True) -> dict:
    """A submission as the review page and the API show it: names for its regions and periods,
    its warnings in words, its review state and (with_values) its values beside the ones they
    replaced. JSON-ready."""
    from pipelines.catalog.names import region_names
    names = region_names(con).name
    out = {"submission_id": sub.submission_id, "file_name": sub.file_name, "uploaded_by": sub.uploaded_by,
           "uploaded_at": sub.uploaded_at.isoformat(timespec="seconds") if sub.uploaded_at else None,
           "regions": sub.regions, "region_names": [names.get(c, c) for c in sub.regions],
           "periods": sub.periods, "period_labels": [_period_label(p) for p in sub.periods],
           "warnings": [_warning_text(w) for w in sub.warnings], "state": sub.state,
           "state_label": sub.state_label, "reviewer": sub.reviewer, "comment": sub.comment,
           "decided_at": sub.decided_at.isoformat(timespec="seconds") if sub.decided_at else None,
           "corrects_id": sub.corrects_id}
    if sub.corrects_id is not None:
        old = get(con, sub.corrects_id)
        out["corrects_comment"] = old.comment if old else None
    if with_values:
        out["unchanged"] = con.execute("SELECT count(*) FROM value_confirmations WHERE submission_id = ?",
                                       [sub.submission_id]).fetchone()[0]
        out["values"] = [{**v, "period_label": _period_label(v["period"]),
                          "changed": v["old_numerator"] is not None
                          and (v["old_numerator"], v["old_denominator"]) != (v["numerator"], v["denominator"])}
                         for v in values_with_diff(con, sub.submission_id)]
    return out
