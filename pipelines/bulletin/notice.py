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
    return ("并列" if (f.rank_ties or 1) > 1 else "") + f"{f.rank}/{f.rank_of}"


def summary_sentence(b: Bulletin, name: str, figs: list[tuple[object, Figure]]) -> str:
    rated = [f for _, f in figs if f.rated]
    met = [f for f in rated if f.status == "达标"]
    text = f"你单位纳入通报的医保便民服务指标{len(figs)}项"
    if rated:
        parts = [f"{word}{n}项" for word, n in
                 (("达标", len(met)), ("接近目标", sum(f.status == "接近" for f in rated)),
                  ("未达标", sum(f.status == "未达标" for f in rated))) if n]
        text += f"，参与评价的{len(rated)}项中" + "、".join(parts)
    unrated = [f for _, f in figs if not f.rated and f.status != "无目标"]
    if unrated:
        text += f"；{len(unrated)}项{('、'.join(sorted({f.status for f in unrated})))}，不作评价"
    return text + "。"


def fix_sentences(b: Bulletin, figs, report_by: str) -> list[str]:
    items = []
    for s, f in figs:
        if f.status in ("未达标", "接近") and f.gap is not None:
            v = T.verb(s.info.direction, s.info.unit)
            items.append(f"{s.info.name}需{v}{f.gap_abs_u}方能达到目标（{f.target_u}）")
    missing = [s.info.name for s, f in figs if f.status == "未报送"]
    partial = [s.info.name for s, f in figs if f.status == "数据不全"]
    if missing:
        items.append(f"{T.join_names(missing, 12)}未报送数据，请补报")
    if partial:
        items.append(f"{T.join_names(partial, 12)}数据不全，请补齐缺报月份")
    if not items:
        return ["本季度你单位参与评价的指标均已达标，请继续保持。"]
    return [f"需整改的指标：{'；'.join(items)}。请逐项制定整改措施，于{report_by}前将整改情况"
            f"书面报送{b.authority}。"]


def write_notice(b: Bulletin, code: str, name: str, path: Path, report_by: str) -> Path:
    figs = unit_figures(b, code)
    doc = Document()
    G.setup_page(doc, demo_mark=b.is_demo)
    G.title(doc, [f"{name}{b.quarter.label}", "医保便民服务指标完成情况通知单"], before=0, after=0)
    G.recipients(doc, f"{name}：")
    number = b.doc_number
    cite = f"《{b.title}》" + (f"（{number}）" if b.serial is not None else "")
    G.para(doc, f"根据{b.authority}{cite}，" + summary_sentence(b, name, figs))
    rows = [[str(i), s.info.name, f.actual_u if f.has_value else "—",
             f.target_u if f.target is not None else "—",
             T.with_gap_unit(f.gap_s, s.info.unit) if f.gap is not None else "—",
             f.status, rank_text(f)] for i, (s, f) in enumerate(figs, 1)]
    G.table(doc, HEADER, rows, [1.2, 3.8, 2.0, 1.6, 3.0, 1.5, 2.5], size=10)
    for text in fix_sentences(b, figs, report_by):
        G.para(doc, text)
    G.signature(doc, b.authority, G.cn_date(b.issue_date), before=1)
    doc.save(str(path))
    return path
