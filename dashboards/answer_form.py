"""The upload page's answers to warnings: under the preview of a file with warnings, one box per
answerable warning (a jump against the previous period, an outlier against the region's history
or its peers) for a 说明, filled in with the row's 备注 when it has one; a warning that must be
answered (setting warning.must_answer) is marked 必填. The boxes' values go back with the
confirmation (`answers_from`) and are stored with the submission (workflow/warning_answers.py).
"""
from __future__ import annotations

from dash import dcc, html

from pipelines.workflow.warning_answers import KINDS, MAX_ANSWER

ANSWER_TYPE = "upload-answer"


def answer_form(outcome) -> html.Div | None:
    """The boxes for the outcome's answerable warnings (None when it has none)."""
    warnings = [w for w in outcome.warnings if getattr(w, "kind", None) in KINDS]
    if not warnings:
        return None
    required = sum(1 for w in warnings if w.required and not w.answer)
    rows = []
    for w in warnings:
        where = f"{w.sheet}!{w.cell}" if w.sheet and w.cell else (w.cell or "—")
        rows.append(html.Div(className="answer-row" + (" answer-required" if w.required else ""), children=[
            html.P([html.Strong(where), f"（{KINDS[w.kind]}）", html.Span(" 必填" if w.required else "",
                                                                     className="issue-error"), "：", w.message],
                   className="answer-warning"),
            dcc.Textarea(id={"type": ANSWER_TYPE, "key": w.answer_key}, value=w.answer or "",
                         maxLength=MAX_ANSWER, placeholder="说明原因（如：3月集中办理年度结算，分母增加）",
                         style={"width": "100%", "height": "48px"}),
        ]))
    head = ("对以下警告填写说明（将随报送保存，供审核人员查看）" +
            (f"；其中 {required} 条必须填写说明才能提交" if required else "") + "：")
    return html.Div(id="upload-answers", className="upload-answers", children=[html.P(head), *rows])


def answers_from(values, ids) -> dict:
    """answer_key → 说明 from the boxes' values and ids (pattern-matching States)."""
    return {i["key"]: v for v, i in zip(values or [], ids or []) if isinstance(i, dict) and v and str(v).strip()}
