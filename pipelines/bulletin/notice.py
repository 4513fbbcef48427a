"""One unit's copy of the bulletin (一地一单): a one-page notice with its own figures, its rank
among its peers and what it must fix, by when. Figures are the city bulletin's `Figure`s for
that unit (from Metrics.gaps), nothing recomputed."""
from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH

from . import gongwen as G
from . import text as T
from .model import Bulletin, Figure

HEADER = ["序号", "指标", "本期值", "目标值", "差距", "状态", "排名"]


def unit_figures(b: Bulletin, code: str) -> list[tuple[object, Figure]]:
    """(section, the unit's figure) for every indicator the unit has a row for."""
    out = []
    for s in b.sections:
        for f in s.children:
            if f.region_code == code:
                out.append((s, f))
    return out


def rank_text(f: Figure) -> str:
    if f.rank is None or f.rank_of is None:
        return "—"
    if f.all_tied:
        return "并列"
    return f"{f.rank}/{f.rank_of}" + ("（并列）" if (f.rank_ties or 1) > 1 else "")


def summary_sentence(b: Bulletin, name: str, figs: list[tuple[object, Figure]]) -> str:
    rated = [f for _, f in figs if f.rated]
    met = [f for f in rated if f.status == "达标"]
    text = f"{b.quarter.label}，{name}纳入通报的医保便民服务指标{len(figs)}项"
    if rated:
        text += f"，参与评价的{len(rated)}项中达标{len(met)}项"
        short = len(rated) - len(met)
        if short:
            text += f"、未达标或接近目标{short}项"
    unrated = [f for _, f in figs if not f.rated and f.status != "无目标"]
    if unrated:
        text += f"；{len(unrated)}项{('、'.join(sorted({f.status for f in unrated})))}，不作评价"
    return text + "。具体情况见下表。"


def fix_sentences(b: Bulletin, figs, report_by: str) -> list[str]:
    items = []
    for s, f in figs:
        if f.status in ("未达标", "接近") and f.gap is not None:
            v = T.verb(s.info.direction, s.info.unit)
            items.append(f"{s.info.name}为{f.actual_u}，{T.short_against(f)}，需{v}{f.gap_abs_u}")
        elif f.status == "未报送":
            items.append(f"{s.info.name}未报送数据，请尽快补报")
        elif f.status == "数据不全":
            items.append(f"{s.info.name}数据不全（{f.note}），请补齐" if f.note else
                         f"{s.info.name}数据不全，请补齐")
    if not items:
        return ["本季度你单位参与评价的指标均已达标，请继续保持。"]
    lead = "请对以下指标逐项整改，" + ("于" + report_by + "前将整改情况书面报送" + b.authority + "：")
    return [lead] + [f"{i}．{t}。" for i, t in enumerate(items, 1)]


def write_notice(b: Bulletin, code: str, name: str, path: Path, report_by: str) -> Path:
    figs = unit_figures(b, code)
    doc = Document()
    G.setup_page(doc, demo_mark=b.is_demo)
    G.para(doc, indent=False, line=G.LINE_PT)
    G.title(doc, [f"{name}{b.quarter.label}", "医保便民服务指标完成情况通知单"])
    G.recipients(doc, f"{name}：")
    G.para(doc, f"根据{b.authority}{b.doc_number.strip()}通报，" + summary_sentence(b, name, figs))
    rows = [[str(i), s.info.name, f.actual_u if f.has_value else "—",
             f.target_u if f.target is not None else "—",
             T.with_gap_unit(f.gap_s, s.info.unit) if f.gap is not None else "—",
             f.status, rank_text(f)] for i, (s, f) in enumerate(figs, 1)]
    G.table(doc, HEADER, rows, [0.9, 4.6, 2.2, 1.9, 2.8, 1.5, 1.6], size=10.5)
    for text in fix_sentences(b, figs, report_by):
        G.para(doc, text)
    G.signature(doc, b.authority, G.cn_date(b.issue_date))
    doc.save(str(path))
    return path
