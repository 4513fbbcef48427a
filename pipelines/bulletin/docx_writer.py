"""The bulletin as a Word document in the layout of a Chinese official document (GB/T 9704).

A4, margins 37/35/28/26 mm; red issuing-authority mark and a red rule; a 文号 line “〔year〕　　号” whose number the issuing office writes in;
title in 方正小标宋简体 二号; headings 一、 in 黑体, （一） in 楷体_GB2312; body 仿宋_GB2312 三号
with exactly 28-pt lines; tables with a 黑体 header row; page numbers “— 1 —” (odd pages right,
even pages left). The fonts are named as the reader's Word knows them; for PDF rendering here
they are aliased to Noto CJK (pipelines/bulletin_fonts.conf).
"""
from __future__ import annotations

from copy import deepcopy
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor

from . import text as T
from .model import Bulletin, IndicatorSection

FANGSONG, HEITI, KAITI, SONGTI, XBS = "仿宋_GB2312", "黑体", "楷体_GB2312", "宋体", "方正小标宋简体"
RED = RGBColor(0xE6, 0x00, 0x12)
BODY_PT, LINE_PT, TABLE_PT = 16, 28, 10.5
CN_ORDINALS = "一二三四五六七八九十"

OVERVIEW_HEADER = ["序号", "指标", "单位", "本期值", "目标值", "差距", "完成率(%)", "上季度",
                   "较上季度", "状态"]
RANK_HEADER = ["排名", "地区", "本期值", "目标值", "差距", "完成率(%)", "状态"]
SUBMIT_HEADER = ["类别", "统计期", "按时", "逾期", "已更正", "未报送", "未到期"]


def ordinal(i: int) -> str:
    """1 → 一, 11 → 十一, 20 → 二十."""
    if i <= 10:
        return CN_ORDINALS[i - 1]
    tens, ones = divmod(i, 10)
    return ("" if tens == 1 else CN_ORDINALS[tens - 1]) + "十" + (CN_ORDINALS[ones - 1] if ones else "")


def set_font(run, family: str, size: float | None = None, bold: bool | None = None,
             colour: RGBColor | None = None) -> None:
    run.font.name = family
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), family)
    if size is not None:
        run.font.size = Pt(size)
    if bold is not None:
        run.font.bold = bold
    if colour is not None:
        run.font.color.rgb = colour


def para(doc_or_cell, text: str = "", font: str = FANGSONG, size: float = BODY_PT,
         indent: bool = True, align=None, line: float | None = LINE_PT, bold: bool = False,
         colour: RGBColor | None = None):
    p = doc_or_cell.add_paragraph()
    fmt = p.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    if line is not None:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(line)
    if indent:
        fmt.first_line_indent = Pt(2 * size)
    if align is not None:
        p.alignment = align
    if text:
        set_font(p.add_run(text), font, size, bold, colour)
    return p


def _border(paragraph, edge: str, colour: str, size_eighths: int, space: int = 1) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.append(borders)
    b = OxmlElement(f"w:{edge}")
    b.set(qn("w:val"), "single")
    b.set(qn("w:sz"), str(size_eighths))
    b.set(qn("w:space"), str(space))
    b.set(qn("w:color"), colour)
    borders.append(b)


def _page_field(paragraph, size: float) -> None:
    """“— PAGE —” as a real field, so Word and LibreOffice number the pages."""
    set_font(paragraph.add_run("— "), SONGTI, size)
    for kind, content in (("begin", None), ("instr", " PAGE "), ("separate", None),
                          ("text", "1"), ("end", None)):
        run = paragraph.add_run()
        set_font(run, SONGTI, size)
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = content
        elif kind == "text":
            el = OxmlElement("w:t")
            el.text = content
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        run._r.append(el)
    set_font(paragraph.add_run(" —"), SONGTI, size)


def setup_page(doc, b: Bulletin) -> None:
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin = Mm(37), Mm(35)
    sec.left_margin, sec.right_margin = Mm(28), Mm(26)
    sec.header_distance, sec.footer_distance = Mm(15), Mm(25)
    normal = doc.styles["Normal"]
    normal.font.name = FANGSONG
    normal.font.size = Pt(BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), FANGSONG)
    lang = OxmlElement("w:lang")        # Western runs en-US: numbers are not broken mid-line
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    rpr.append(lang)
    doc.settings.odd_and_even_pages_header_footer = True
    for footer, align in ((sec.footer, WD_ALIGN_PARAGRAPH.RIGHT),
                          (sec.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        p = footer.paragraphs[0]
        p.alignment = align
        p.paragraph_format.left_indent = Pt(14) if align == WD_ALIGN_PARAGRAPH.LEFT else None
        p.paragraph_format.right_indent = Pt(14) if align == WD_ALIGN_PARAGRAPH.RIGHT else None
        _page_field(p, 14)
    if b.is_demo:
        for header in (sec.header, sec.even_page_header):
            p = header.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            set_font(p.add_run("示例数据"), HEITI, 12, colour=RED)


def title_block(doc, b: Bulletin) -> None:
    size = min(36.0, 156 / 25.4 * 72 / max(len(b.authority), 1) * 0.92)
    para(doc, b.authority, XBS, size, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER,
         line=None, colour=RED).paragraph_format.space_before = Pt(24)
    para(doc, indent=False, line=LINE_PT)
    number = para(doc, f"〔{b.issue_date.year}〕　　号", FANGSONG, BODY_PT, indent=False,
                  align=WD_ALIGN_PARAGRAPH.CENTER)
    number.paragraph_format.space_after = Pt(6)
    _border(number, "bottom", "E60012", 18, space=6)
    para(doc, indent=False)
    para(doc, b.title, XBS, 22, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, line=35)
    para(doc, indent=False)
    if b.child_term:
        para(doc, f"各{b.child_term}医疗保障部门：" if b.child_term == "县（市、区）"
             else f"各{b.child_term}：", indent=False)


def heading(doc, text: str) -> None:
    para(doc, text, HEITI, BODY_PT).paragraph_format.keep_with_next = True


def sub_heading(doc, label: str, body: str = "") -> None:
    p = para(doc, "")
    set_font(p.add_run(label), KAITI, BODY_PT)
    if body:
        set_font(p.add_run(body), FANGSONG, BODY_PT)
    else:
        p.paragraph_format.keep_with_next = True


def caption(doc, text: str, before_table: bool = True) -> None:
    p = para(doc, text, HEITI, 12, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, line=22)
    p.paragraph_format.keep_with_next = before_table


def _cell_text(cell, text: str, header: bool, align=WD_ALIGN_PARAGRAPH.CENTER) -> None:
    p = cell.paragraphs[0]
    p.alignment = align
    p.paragraph_format.space_before = Pt(1)
    p.paragraph_format.space_after = Pt(1)
    set_font(p.add_run(text), HEITI if header else FANGSONG, TABLE_PT)


def table(doc, header: list[str], rows: list[list[str]], widths_cm: list[float],
          keep_together: int = 20) -> None:
    """A grid table with a repeated 黑体 header row. Body rows are copies of one styled row
    (python-docx is slow cell by cell); a short table is kept on one page."""
    t = doc.add_table(rows=2, cols=len(header))
    t.style = doc.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    hdr, model = t.rows[0], t.rows[1]
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    hdr._tr.get_or_add_trPr().append(repeat)
    _fixed_widths(t, widths_cm)
    keep = len(rows) <= keep_together
    for cell, text in zip(hdr.cells, header):
        _cell_text(cell, text, header=True)
        cell.paragraphs[0].paragraph_format.keep_with_next = True
    for name, cell in zip(header, model.cells):
        _cell_text(cell, "·", header=False,
                   align=WD_ALIGN_PARAGRAPH.LEFT if name in ("指标", "地区") else WD_ALIGN_PARAGRAPH.CENTER)
        cell.paragraphs[0].paragraph_format.keep_with_next = keep
    template = model._tr
    for values in rows:
        tr = deepcopy(template)
        for node, text in zip(tr.iter(qn("w:t")), values):
            node.text = text
        t._tbl.append(tr)
    t._tbl.remove(template)
    para(doc, indent=False, line=10)


def _fixed_widths(t, widths_cm: list[float]) -> None:
    """Fixed layout with explicit grid widths (LibreOffice ignores cell widths alone)."""
    t.autofit = False
    tblpr = t._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tblpr.append(layout)
    for col, w in zip(t._tbl.tblGrid.findall(qn("w:gridCol")), widths_cm):
        col.set(qn("w:w"), str(int(Cm(w).twips)))
    for row in t.rows:
        for cell, w in zip(row.cells, widths_cm):
            cell.width = Cm(w)


def overview_rows(b: Bulletin) -> list[list[str]]:
    rows = []
    for i, s in enumerate(b.sections, 1):
        p = s.parent
        prev = s.previous.actual_s if s.previous is not None else "—"
        change = ("-" if s.change_sign < 0 else "") + s.change_s if s.has_change else "—"
        rows.append([str(i), s.info.name, s.info.unit, p.actual_s, p.target_s, p.gap_s,
                     p.completion_s, prev, change, p.status])
    return rows


def ranking_rows(s: IndicatorSection) -> list[list[str]]:
    return [[str(f.rank) if f.rank is not None else "—", f.region_name, f.actual_s, f.target_s,
             f.gap_s, f.completion_s, f.status] for f in s.children]


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


def picture(doc, path: Path | None, label: str) -> None:
    if path is None:
        return
    p = para(doc, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, line=None)
    p.paragraph_format.keep_with_next = True
    p.add_run().add_picture(str(path), width=Cm(14.5))
    caption(doc, label, before_table=False)


def write_docx(b: Bulletin, path: Path, charts: dict[str, dict[str, Path | None]]) -> Path:
    """Write the bulletin; `charts[indicator_code]` holds {'ranking': png, 'trend': png}."""
    doc = Document()
    setup_page(doc, b)
    title_block(doc, b)
    intro = (f"为掌握医保便民服务各项指标推进情况，现将{b.quarter.label}{b.area}医保便民服务"
             "指标完成情况通报如下：")
    para(doc, intro)

    heading(doc, "一、总体情况")
    for text in T.overall_paragraphs(b):
        para(doc, text)
    table_no, figure_no = 1, 1
    caption(doc, f"表{table_no}　{b.quarter.label}{b.jurisdiction_name}医保便民服务指标完成情况")
    table(doc, OVERVIEW_HEADER, overview_rows(b), [0.8, 3.2, 0.8, 1.7, 1.4, 1.4, 1.6, 1.7, 1.6, 1.3])
    table_no += 1

    heading(doc, "二、分项指标情况")
    for i, s in enumerate(b.sections, 1):
        sub_heading(doc, f"（{ordinal(i)}）{s.info.name}")
        for text in T.indicator_paragraphs(b, s):
            para(doc, text)
        drawn = charts.get(s.info.code, {})
        if drawn.get("trend") is not None:
            picture(doc, drawn["trend"], f"图{figure_no}　{b.area}{s.info.name}走势")
            figure_no += 1
        if s.children and any(f.has_value for f in s.children):
            if drawn.get("ranking") is not None:
                picture(doc, drawn["ranking"], f"图{figure_no}　各{b.child_term}{s.info.name}排名")
                figure_no += 1
            caption(doc, f"表{table_no}　各{b.child_term}{s.info.name}排名（单位：{s.info.unit}）")
            table(doc, RANK_HEADER, ranking_rows(s), [1.2, 4.6, 1.9, 1.9, 1.9, 1.9, 1.7])
            table_no += 1

    heading(doc, "三、报送情况")
    for text in T.submission_paragraphs(b):
        para(doc, text)
    rows = submission_rows(b)
    if rows:
        caption(doc, f"表{table_no}　{b.quarter.label}数据报送情况（单位：份）")
        table(doc, SUBMIT_HEADER, rows, [1.6, 4.8, 1.5, 1.5, 1.6, 1.6, 1.6])

    heading(doc, "四、存在问题")
    for i, (label, body) in enumerate(T.problem_paragraphs(b), 1):
        sub_heading(doc, f"（{ordinal(i)}）{label}", body)

    heading(doc, "五、下一步工作建议")
    for i, (label, body) in enumerate(T.suggestion_paragraphs(b), 1):
        sub_heading(doc, f"（{ordinal(i)}）{label}", body)

    annex = para(doc, "附件：" + f"{b.quarter.label}医保便民服务指标完成情况明细表（Excel）")
    annex.paragraph_format.keep_with_next = True
    for _ in range(2):
        para(doc, indent=False).paragraph_format.keep_with_next = True
    sign = para(doc, b.authority, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    sign.paragraph_format.keep_with_next = True
    sign.paragraph_format.right_indent = Pt(4 * BODY_PT)
    d = b.issue_date
    date = para(doc, f"{d.year}年{d.month}月{d.day}日", indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    date.paragraph_format.right_indent = Pt(4 * BODY_PT)
    date.paragraph_format.keep_with_next = b.data_as_of is not None
    if b.data_as_of is not None:
        para(doc, f"（数据截至{b.data_as_of:%Y年%m月%d日 %H:%M}）", FANGSONG, 12, indent=False,
             align=WD_ALIGN_PARAGRAPH.RIGHT, line=22)
    doc.save(str(path))
    return path
