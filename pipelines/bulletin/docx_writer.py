"""The city bulletin as a Word 公文 (GB/T 9704-2012): short main text, detail in the annex.

版头 (发文机关标志, 发文字号 from the jurisdiction's settings), title, 主送机关 from the region
tree, then 一、总体情况 (one overview table, one status chart), 二、表扬和通报, 三、报送情况,
四、整改要求 (with the date to report back), 附件说明, 署名 and 成文日期, 附注, 版记. Every
sentence comes from text.py and every number from the figures' strings; the form from
gongwen.py. Per-indicator tables and rankings are in the Excel annex, not here.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH

from . import gongwen as G
from . import text as T
from .model import Bulletin, IndicatorSection

OVERVIEW_HEADER = ["序号", "指标", "单位", "本期值", "目标值", "差距", "完成率(%)", "上季度",
                   "较上季度", "状态"]
SUBMIT_HEADER = ["类别", "统计期", "按时", "逾期", "已更正", "未报送", "未到期"]
ordinal = G.ordinal


def annex_name(b: Bulletin) -> str:
    return f"{b.quarter.label}医保便民服务指标完成情况明细表"


def report_by(b: Bulletin) -> str:
    return G.cn_date(b.issue_date + dt.timedelta(days=b.settings.report_days if b.settings else 15))


def overview_rows(b: Bulletin) -> list[list[str]]:
    rows = []
    for i, s in enumerate(b.sections, 1):
        p = s.parent
        prev = s.previous.actual_s if s.previous is not None else "—"
        change = ("-" if s.change_sign < 0 else "") + s.change_s if s.has_change else "—"
        rows.append([str(i), s.info.name, s.info.unit, p.actual_s, p.target_s, p.gap_s,
                     p.completion_s, prev, change, p.status])
    return rows


def period_span(codes: list[str]) -> str:
    """['2024-07', '2024-08', '2024-09'] → '2024年7—9月'; ['2024Q3'] → '2024年第三季度'."""
    from ..periods import parse_period
    ps = [parse_period(c) for c in codes]
    if len(ps) == 1:
        return ps[0].label
    return f"{ps[0].year}年{ps[0].month_from}—{ps[-1].month_to}月"


def submission_rows(b: Bulletin) -> list[list[str]]:
    rows = []
    for sub in b.submissions:
        if sum(sub.counts.values()) == 0:
            continue
        rows.append([sub.label, period_span(sub.periods)] +
                    [str(sub.counts[k]) for k in ("按时", "逾期", "已更正", "未报送", "未到期")])
    return rows


def write_docx(b: Bulletin, path: Path, charts: dict) -> Path:
    """Write the bulletin; `charts['heatmap']` is the status chart's PNG (or None)."""
    doc = Document()
    G.setup_page(doc, demo_mark=b.is_demo)
    G.masthead(doc, f"{b.authority}文件", b.doc_number)
    G.title(doc, b.title_lines)
    to = T.recipients_line(b)
    if to:
        G.recipients(doc, to)
    G.para(doc, T.intro_paragraph(b))
    b.has_heatmap = charts.get("heatmap") is not None

    G.heading1(doc, "一、总体情况")
    for text in T.overall_short(b):
        G.para(doc, text)
    final = T.final_paragraph(b)
    if final:
        G.para(doc, final)
    G.caption(doc, f"表1　{b.quarter.label}{b.jurisdiction_name}医保便民服务指标完成情况")
    # 15.6 cm = the 版心's width
    G.table(doc, OVERVIEW_HEADER, overview_rows(b), [0.8, 3.7, 0.9, 1.6, 1.2, 1.3, 1.4, 1.6, 1.3, 1.8],
            size=10)
    if b.has_heatmap:
        G.caption(doc, f"图1　各{b.child_term}指标达标情况（列号同表1序号）")
        G.picture(doc, charts["heatmap"], 15.0)

    n = 2
    praise, behind = T.praise_paragraph(b), T.behind_paragraph(b)
    if praise or behind:
        G.heading1(doc, f"{ordinal(n)}、表扬和通报")
        i = 1
        if praise:
            G.heading2(doc, f"（{ordinal(i)}）表现突出的单位。", praise)
            i += 1
        if behind:
            G.heading2(doc, f"（{ordinal(i)}）进度滞后的单位。", behind)
        n += 1

    G.heading1(doc, f"{ordinal(n)}、报送情况")
    for text in T.submission_short(b):
        G.para(doc, text)
    review = T.review_paragraph(b)
    if review:
        G.para(doc, review)
    n += 1

    G.heading1(doc, f"{ordinal(n)}、整改要求")
    for i, (label, body) in enumerate(T.rectification(b, report_by(b)), 1):
        G.heading2(doc, f"（{ordinal(i)}）{label}", body)

    G.annex_note(doc, [annex_name(b)])
    G.signature(doc, b.authority, G.cn_date(b.issue_date))
    if b.data_as_of is not None:
        G.note(doc, f"（数据截至{G.cn_date(b.data_as_of)}）")
    if b.settings is not None:
        G.colophon(doc, b.settings.cc, b.settings.printer, G.cn_date(b.issue_date))
    doc.save(str(path))
    return path
