"""Answers (说明) to the warnings of a return, and which warnings must be answered.

A warning about a row — a jump against the previous period (rate_jump, den_swing, stock_fall)
or an outlier against the region's own history or its peers (outlier_history, outlier_peers:
returns/outliers.py) — is answered by the text in that row's 备注 column (any text there answers
every warning of the row) or by a 说明 typed on the upload page for that warning. The setting
`warning.must_answer` lists the kinds (comma-separated codes or their Chinese names) that must
be answered before a file can be submitted; a file with such a warning unanswered is refused,
naming the cell (the upload page's preview marks them instead, so they can be answered there).

Answers are stored with the submission (`warning_answers`, migration 9) inside the load's
transaction, and read back by review (workflow/review.py) and the provenance panel.
"""
from __future__ import annotations

import datetime as dt

KINDS = {
    "rate_jump": "比率较上期跳变",
    "den_swing": "分母较上期大幅变化",
    "stock_fall": "存量数较上期下降",
    "outlier_history": "与本地区历史相比异常",
    "outlier_peers": "与同级地区相比异常",
}
SETTING = "warning.must_answer"
MAX_ANSWER = 500
SOURCES = {"note": "备注列", "page": "报送页面"}


def parse_kinds(text: str | None) -> tuple[set[str], list[str]]:
    """(kinds, unknown entries) of a warning.must_answer value: codes or Chinese names."""
    by_label = {v: k for k, v in KINDS.items()}
    kinds, unknown = set(), []
    for part in str(text or "").replace("，", ",").replace("、", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if part in ("all", "全部"):
            kinds |= set(KINDS)
        elif part in KINDS or part in by_label:
            kinds.add(by_label.get(part, part))
        else:
            unknown.append(part)
    return kinds, unknown


def check_setting(key: str, value: str) -> str | None:
    if key != SETTING:
        return None
    _, unknown = parse_kinds(value)
    if unknown:
        options = "、".join(f"{k}（{v}）" for k, v in KINDS.items())
        return f"设置 {SETTING} 中的“{'、'.join(unknown)}”不是警告类型：可选 {options}，或 all"
    return None


def required_kinds(con) -> set[str]:
    row = con.execute("SELECT value FROM settings WHERE key = ?", [SETTING]).fetchone()
    return parse_kinds(row[0] if row else "")[0]


def apply(con, warnings: list, answers: dict | None = None, *, defer: bool = False,
          required: set[str] | None = None) -> list:
    """Attach the upload page's answers (answer_key → text) to the warnings; return the errors
    (returns.extract.Issue) for required warnings left unanswered and answers too long. With
    `defer` (the page's preview) unanswered required warnings are only marked `required`.
    `required`: `required_kinds(con)`, when the caller read it once for a batch."""
    from pipelines.returns.extract import Issue
    errors = []
    for w in warnings:
        text = str((answers or {}).get(w.answer_key) or "").strip()
        if text:
            if len(text) > MAX_ANSWER:
                errors.append(Issue("error", w.sheet, w.cell, f"对 {w.cell or ''} 警告的说明过长：最多 {MAX_ANSWER} 个字，"
                                                              f"当前 {len(text)} 个字，请精简后重新提交", kind="answer"))
                continue
            w.answer, w.answer_source = text, "page"
    if not warnings:
        return errors
    required = required_kinds(con) if required is None else required
    for w in warnings:
        if w.kind in required and not w.answer:
            w.required = True
            if not defer:
                where = f"{w.sheet}!{w.cell}" if w.sheet and w.cell else (w.cell or "该行")
                errors.append(Issue("error", w.sheet, w.cell,
                                    f"{where} 的警告（{KINDS[w.kind]}）须填写说明后才能提交：{w.message}。"
                                    f"请在本行“备注”列写明原因，或在报送页面该警告下填写说明", kind="answer"))
    return errors


def record(con, submission_id: int, warnings: list, user: str, at: dt.datetime | None = None) -> int:
    """Store the answered warnings of a loaded submission (inside the load's transaction)."""
    rows = [(int(submission_id), w.kind, w.sheet, w.cell, *(w.key or (None, None, None)), w.message, w.answer,
             w.answer_source or "note", user, at or dt.datetime.now())
            for w in warnings if w.answer and w.kind in KINDS]
    if rows:
        con.executemany("INSERT INTO warning_answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


_COLUMNS = ("submission_id", "kind", "sheet", "cell", "region_code", "indicator_code", "period", "warning",
            "answer", "source", "answered_by", "answered_at")


def _dicts(rows) -> list[dict]:
    out = []
    for r in rows:
        d = dict(zip(_COLUMNS, r))
        d["kind_label"] = KINDS.get(d["kind"], d["kind"])
        d["source_label"] = SOURCES.get(d["source"], d["source"])
        out.append(d)
    return out


def for_submissions(con, submission_ids: list[int]) -> dict[int, list[dict]]:
    """submission_id → its answers, in sheet and cell order."""
    if not submission_ids:
        return {}
    rows = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM warning_answers WHERE submission_id IN "
                       "(SELECT unnest(?::BIGINT[])) ORDER BY submission_id, sheet, cell, kind",
                       [sorted({int(s) for s in submission_ids})]).fetchall()
    out: dict[int, list[dict]] = {}
    for d in _dicts(rows):
        out.setdefault(d["submission_id"], []).append(d)
    return out


def for_values(con, keys: list[tuple]) -> dict[tuple, list[dict]]:
    """(submission_id, region_code, indicator_code, period) → the answers about that value."""
    if not keys:
        return {}
    cols = [list(c) for c in zip(*[(int(a), b, c, d) for a, b, c, d in keys])]
    rows = con.execute(
        f"SELECT {', '.join('a.' + c for c in _COLUMNS)} FROM warning_answers a JOIN "
        "(SELECT unnest(?::BIGINT[]) AS submission_id, unnest(?::VARCHAR[]) AS region_code, "
        "unnest(?::VARCHAR[]) AS indicator_code, unnest(?::VARCHAR[]) AS period) k "
        "USING (submission_id, region_code, indicator_code, period) ORDER BY a.kind", cols).fetchall()
    out: dict[tuple, list[dict]] = {}
    for d in _dicts(rows):
        out.setdefault((d["submission_id"], d["region_code"], d["indicator_code"], d["period"]), []).append(d)
    return out
