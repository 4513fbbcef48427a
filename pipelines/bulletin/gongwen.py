"""GB/T 9704-2012 page elements for python-docx: page, grid, 版头, 层次, 附件说明, 署名, 版记.

Only form lives here (no wording, no figures): the city bulletin (docx_writer.py) and the
one-page notices (notice.py) compose these pieces.

Measures (GB/T 9704 5.2, 7): A4; 版心 156 mm × 225 mm, 天头 37 mm, 订口 28 mm; 正文 3号 (16 pt)
仿宋, 22 lines of 28 characters (line pitch 225 mm / 22 = 28.95 pt, character pitch 156 mm / 28
= 15.79 pt: a line grid plus a character spacing of -0.25 pt on body runs, so Word and
LibreOffice both set 28); 发文机关标志 with its top 35 mm below the 版心's top; 发文字号 two lines below it and a red
rule 4 mm below that; page numbers 4号 宋体 “— 1 —”, odd pages right and even pages left, one
character in, their bottom 7 mm below the 版心.

Fonts are named as the reader's Word knows them; for the PDF made here fontconfig maps them
(pipelines/bulletin_fonts.conf): 仿宋/宋体/小标宋 → Noto Serif CJK SC, 黑体 → Noto Sans CJK SC,
楷体 → AR PL UKai CN (fonts-arphic-ukai), so 二级标题 looks like 楷体 in the PDF too.
"""
from __future__ import annotations

from copy import deepcopy

from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor

FANGSONG, HEITI, KAITI, SONGTI, XBS = "仿宋_GB2312", "黑体", "楷体_GB2312", "宋体", "方正小标宋简体"
RED_HEX = "E60012"
RED = RGBColor(0xE6, 0x00, 0x12)

MM_PT = 72 / 25.4
PAGE_W_MM, PAGE_H_MM = 210, 297
TOP_MM, BOTTOM_MM, LEFT_MM, RIGHT_MM = 37, 35, 28, 26
TEXT_W_MM, TEXT_H_MM = 156, 225
BODY_PT = 16                          # 3号
LINES, CHARS = 22, 28
LINE_TWIPS = 579                      # 28.95 pt: 22 lines fill the 225 mm 版心
LINE_PT = LINE_TWIPS / 20
CHAR_PT = TEXT_W_MM * MM_PT / CHARS   # 15.79 pt
CHAR_SPACING_TWIPS = -5               # 16 pt glyphs set at 15.75 pt: one grid cell each
MARK_TOP_MM = 35                      # 发文机关标志: its top below the 版心's top
PAGE_NO_PT = 14                       # 4号
TABLE_PT = 12                         # 小四 in tables
CN_ORDINALS = "一二三四五六七八九十"
DIGIT_EM = 0.69                       # width of a digit in body text, in characters (measured)


def ordinal(i: int) -> str:
    """1 → 一, 11 → 十一, 20 → 二十."""
    if i <= 10:
        return CN_ORDINALS[i - 1]
    tens, ones = divmod(i, 10)
    return ("" if tens == 1 else CN_ORDINALS[tens - 1]) + "十" + (CN_ORDINALS[ones - 1] if ones else "")


def set_font(run, family: str, size: float | None = None, bold: bool | None = None,
             colour: RGBColor | None = None, spacing: int | None = None) -> None:
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
    if spacing:
        el = OxmlElement("w:spacing")
        el.set(qn("w:val"), str(spacing))
        rpr.append(el)


def para(doc_or_cell, text: str = "", font: str = FANGSONG, size: float = BODY_PT,
         indent: bool = True, align=None, line: float | None = LINE_PT, bold: bool = False,
         colour: RGBColor | None = None, spacing: int | None = None):
    """A paragraph; body text by default (3号仿宋, 左空二字, one grid line)."""
    p = doc_or_cell.add_paragraph()
    fmt = p.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    if line is not None:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(line)
    if indent:
        fmt.first_line_indent = Pt(2 * CHAR_PT) if size == BODY_PT else Pt(2 * size)
    if align is not None:
        p.alignment = align
    if spacing is None and size == BODY_PT:
        spacing = CHAR_SPACING_TWIPS
    if size != BODY_PT or line != LINE_PT:
        no_grid(p)
    if text:
        set_font(p.add_run(text), font, size, bold, colour, spacing)
    return p


PPR_ORDER = ["pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl",
             "numPr", "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku",
             "wordWrap", "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi",
             "adjustRightInd", "snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents",
             "suppressOverlap", "jc", "textDirection", "textAlignment", "textboxTightWrap",
             "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange"]


def ppr_add(p, el) -> None:
    """Insert `el` into the paragraph's w:pPr at its place in the schema order (Word insists)."""
    ppr = p._p.get_or_add_pPr()
    rank = PPR_ORDER.index(el.tag.split("}")[1])
    for i, child in enumerate(ppr):
        name = child.tag.split("}")[1]
        if name in PPR_ORDER and PPR_ORDER.index(name) > rank:
            child.addprevious(el)
            return
    ppr.append(el)


def no_grid(p) -> None:
    """Lay this paragraph out off the document grid (版头, titles, tables, captions)."""
    el = OxmlElement("w:snapToGrid")
    el.set(qn("w:val"), "0")
    ppr_add(p, el)


def run(p, text: str, font: str = FANGSONG, size: float = BODY_PT, bold: bool = False):
    r = p.add_run(text)
    set_font(r, font, size, bold, spacing=CHAR_SPACING_TWIPS if size == BODY_PT else None)
    return r


def blank(doc, lines: int = 1, keep: bool = False) -> None:
    for _ in range(lines):
        para(doc, indent=False).paragraph_format.keep_with_next = keep


def _border(paragraph, edge: str, colour: str, size_eighths: int, space: int = 1) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr_add(paragraph, borders)
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
        r = paragraph.add_run()
        set_font(r, SONGTI, size)
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
        r._r.append(el)
    set_font(paragraph.add_run(" —"), SONGTI, size)


def _doc_grid(sec) -> None:
    """w:docGrid of 22 lines (Word's 文档网格). The 28 characters come from the character
    spacing of the body runs: LibreOffice lays a linesAndChars grid out at half the characters."""
    sect = sec._sectPr
    for old in sect.findall(qn("w:docGrid")):
        sect.remove(old)
    grid = OxmlElement("w:docGrid")
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(LINE_TWIPS))
    sect.append(grid)


def setup_page(doc, demo_mark: bool = False, page_numbers: bool = True) -> None:
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(PAGE_W_MM), Mm(PAGE_H_MM)
    sec.top_margin, sec.bottom_margin = Mm(TOP_MM), Mm(BOTTOM_MM)
    sec.left_margin, sec.right_margin = Mm(LEFT_MM), Mm(RIGHT_MM)
    sec.header_distance = Mm(15)
    # the digits' bottom 7 mm below the 版心 (measured: they end 1.2 mm above the footer's bottom)
    sec.footer_distance = Mm(BOTTOM_MM - 7 - 1.2)
    _doc_grid(sec)
    normal = doc.styles["Normal"]
    normal.font.name = FANGSONG
    normal.font.size = Pt(BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), FANGSONG)
    lang = OxmlElement("w:lang")        # Western runs en-US: numbers are not broken mid-line
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    rpr.append(lang)
    if page_numbers:
        doc.settings.odd_and_even_pages_header_footer = True
        for footer, align in ((sec.footer, WD_ALIGN_PARAGRAPH.RIGHT),
                              (sec.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
            p = footer.paragraphs[0]
            p.alignment = align
            p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            p.paragraph_format.line_spacing = Pt(PAGE_NO_PT)
            if align == WD_ALIGN_PARAGRAPH.LEFT:
                p.paragraph_format.left_indent = Pt(PAGE_NO_PT)
            else:
                p.paragraph_format.right_indent = Pt(PAGE_NO_PT)
            _page_field(p, PAGE_NO_PT)
    if demo_mark:
        for header in (sec.header, sec.even_page_header):
            p = header.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            set_font(p.add_run("示例数据"), HEITI, 12, colour=RED)


def mark_size(text: str) -> float:
    """发文机关标志: 小标宋 at most 42 pt, never wider than 150 mm."""
    return round(min(42.0, 150 * MM_PT / max(len(text), 1)), 1)


# Where a 42 pt 小标宋 glyph's top sits inside an exactly-spaced line box of the same height
# (measured on LibreOffice's PDF: the ink of the first line starts 1.4 pt above the box's top).
MARK_GLYPH_INSET_PT = -1.4


def masthead(doc, mark: str, doc_number: str) -> None:
    """版头: 发文机关标志 (red, centred, its top 35 mm below the 版心's top), 空二行, 发文字号
    centred, and the red rule 4 mm below it (as wide as the 版心)."""
    size = mark_size(mark)
    spacer = para(doc, indent=False, line=MARK_TOP_MM * MM_PT - MARK_GLYPH_INSET_PT)
    spacer.paragraph_format.keep_with_next = True
    p = para(doc, mark, XBS, size, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, line=size,
             colour=RED, spacing=0)
    p.paragraph_format.keep_with_next = True
    blank(doc, 2, keep=True)
    number = para(doc, doc_number, FANGSONG, BODY_PT, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    # the rule: 4 mm below the number's line (w:space is in points, at most 31)
    _border(number, "bottom", RED_HEX, 12, space=round(4 * MM_PT) - 1)
    number.paragraph_format.keep_with_next = True


def title(doc, lines, before: int = 2, after: int = 1) -> None:
    """红色分隔线下空二行, 2号小标宋 centred (several lines: 梯形, broken between words);
    标题下空一行."""
    blank(doc, before, keep=True)
    lines = [lines] if isinstance(lines, str) else list(lines)
    p = para(doc, "", XBS, 22, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, line=LINE_PT * 1.25)
    for i, text in enumerate(lines):
        r = p.add_run(text)
        set_font(r, XBS, 22)
        if i < len(lines) - 1:
            r.add_break()
    p.paragraph_format.keep_with_next = True
    blank(doc, after, keep=True)


def recipients(doc, text: str) -> None:
    """主送机关: 标题下空一行, 居左顶格, 最后一个机关名称后标全角冒号."""
    p = para(doc, text, indent=False)
    p.paragraph_format.keep_with_next = True


def heading1(doc, text: str) -> None:
    """一级标题 “一、” 黑体."""
    para(doc, text, HEITI).paragraph_format.keep_with_next = True


def heading2(doc, label: str, body: str = "") -> None:
    """二级标题 “（一）” 楷体; a run-in heading when `body` follows in 仿宋."""
    p = para(doc)
    run(p, label, KAITI)
    if body:
        run(p, body)
    else:
        p.paragraph_format.keep_with_next = True


def caption(doc, text: str, before_table: bool = True) -> None:
    p = para(doc, text, HEITI, 14, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, line=LINE_PT)
    p.paragraph_format.keep_with_next = before_table


def _cell_text(cell, text: str, header: bool, align=WD_ALIGN_PARAGRAPH.CENTER, size=TABLE_PT) -> None:
    p = cell.paragraphs[0]
    p.alignment = align
    p.paragraph_format.space_before = Pt(1)
    p.paragraph_format.space_after = Pt(1)
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    p.paragraph_format.line_spacing = Pt(size * 1.2)
    set_font(p.add_run(text), HEITI if header else FANGSONG, size)
    no_grid(p)


def table(doc, header: list[str], rows: list[list[str]], widths_cm: list[float],
          left: tuple[str, ...] = ("指标", "地区"), size: float = TABLE_PT) -> None:
    """A grid table with a repeated 黑体 header row, kept on one page when short. Body rows are
    copies of one styled row (python-docx is slow cell by cell)."""
    t = doc.add_table(rows=2, cols=len(header))
    t.style = doc.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    hdr, model = t.rows[0], t.rows[1]
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    hdr._tr.get_or_add_trPr().append(repeat)
    _fixed_widths(t, widths_cm)
    keep = len(rows) <= 20
    for cell, text in zip(hdr.cells, header):
        _cell_text(cell, text, header=True, size=size)
        cell.paragraphs[0].paragraph_format.keep_with_next = True
    for name, cell in zip(header, model.cells):
        _cell_text(cell, "·", header=False, size=size,
                   align=WD_ALIGN_PARAGRAPH.LEFT if name in left else WD_ALIGN_PARAGRAPH.CENTER)
        cell.paragraphs[0].paragraph_format.keep_with_next = keep
    template = model._tr
    for i, values in enumerate(rows):
        tr = deepcopy(template)
        for node, text in zip(tr.iter(qn("w:t")), values):
            node.text = text
        if i == len(rows) - 1:
            for p in tr.iter(qn("w:keepNext")):
                p.getparent().remove(p)
        t._tbl.append(tr)
    t._tbl.remove(template)
    return t


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


def picture(doc, path, width_cm: float = 15.0) -> None:
    p = para(doc, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, line=None, spacing=0)
    p.paragraph_format.keep_with_next = True
    p.add_run().add_picture(str(path), width=Cm(width_cm))


def annex_note(doc, names: list[str]) -> None:
    """附件说明: 正文下空一行, 左空二字 “附件：”; a second line aligns with the name (hanging);
    several annexes are numbered “1．”; no punctuation after a name."""
    if doc.paragraphs:
        doc.paragraphs[-1].paragraph_format.keep_with_next = True   # 正文 goes with the 署名
    blank(doc, 1, keep=True)
    for i, name in enumerate(names):
        label = ("附件：" if i == 0 else "　　　") + (f"{i + 1}．" if len(names) > 1 else "")
        p = para(doc, indent=False)
        fmt = p.paragraph_format
        hang = len(label) * CHAR_PT
        fmt.left_indent = Pt(2 * CHAR_PT + hang)
        fmt.first_line_indent = Pt(-hang)
        fmt.keep_with_next = True
        run(p, label + name)


def signature(doc, authority: str, date_text: str, before: int = 2) -> None:
    """署名 and 成文日期 (加盖印章的公文, 7.3.5.1): the date 右空四字; the authority centred on
    the date; two lines left for the seal, which must touch the text above."""
    blank(doc, before, keep=True)
    date_w = sum(DIGIT_EM if ch.isdigit() else 1.0 for ch in date_text)
    sign_w = len(authority)
    sign = para(doc, authority, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    sign.paragraph_format.right_indent = Pt(CHAR_PT * max(0.0, 4 + (date_w - sign_w) / 2))
    sign.paragraph_format.keep_with_next = True
    date = para(doc, date_text, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    date.paragraph_format.right_indent = Pt(4 * CHAR_PT)
    date.paragraph_format.keep_with_next = True


def note(doc, text: str) -> None:
    """附注: 成文日期下一行, 居左空二字, 加圆括号 (the text comes with its brackets)."""
    para(doc, text).paragraph_format.keep_with_next = True


def cn_date(d) -> str:
    """2024年7月5日 (no leading zeros; GB/T 9704 7.3.5.1)."""
    return f"{d.year}年{d.month}月{d.day}日"


def _cell_borders(cell, top: int | None, bottom: int | None) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    for edge, size in (("top", top), ("left", None), ("bottom", bottom), ("right", None)):
        b = OxmlElement(f"w:{edge}")
        if size is None:
            b.set(qn("w:val"), "nil")
        else:
            b.set(qn("w:val"), "single")
            b.set(qn("w:sz"), str(size))
            b.set(qn("w:space"), "0")
            b.set(qn("w:color"), "000000")
        borders.append(b)
    tcpr.append(borders)


COLOPHON_PT = 14                      # 4号


BOX_XML = (
    '<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
    '<mc:Choice Requires="wps"><w:drawing>'
    '<wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="251659264" '
    'behindDoc="0" locked="1" layoutInCell="1" allowOverlap="0">'
    '<wp:simplePos x="0" y="0"/>'
    '<wp:positionH relativeFrom="margin"><wp:align>center</wp:align></wp:positionH>'
    '<wp:positionV relativeFrom="margin"><wp:align>bottom</wp:align></wp:positionV>'
    '<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
    '<wp:wrapTopAndBottom/><wp:docPr id="{id}" name="版记"/><wp:cNvGraphicFramePr/>'
    '<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
    '<wps:wsp><wps:cNvSpPr txBox="1"/><wps:spPr><a:xfrm><a:off x="0" y="0"/>'
    '<a:ext cx="{cx}" cy="{cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom>'
    '<a:noFill/><a:ln><a:noFill/></a:ln></wps:spPr><wps:txbx><w:txbxContent/></wps:txbx>'
    '<wps:bodyPr rot="0" vert="horz" wrap="square" lIns="0" tIns="0" rIns="0" bIns="0" anchor="b" '
    'anchorCtr="0"><a:noAutofit/></wps:bodyPr></wps:wsp></a:graphicData></a:graphic>'
    '</wp:anchor></w:drawing></mc:Choice></mc:AlternateContent>')
EMU_PT = 12700


def colophon(doc, cc: tuple[str, ...], printer: str, print_date: str) -> None:
    """版记 at the foot of the last page: 抄送 (左右各空一字, 回行与冒号后首字对齐, 句号结尾) and
    印发机关 (左空一字) with the 印发日期 (右空一字); 4号仿宋; rules as wide as the 版心, the
    first and last thick (0.35 mm), the middle thin (0.25 mm). The lines sit in a text box
    anchored to the last paragraph and aligned to the bottom of the 版心 (wrap top and
    bottom: text above never runs under it), so the 版记's last line is the page's last."""
    from docx.oxml import parse_xml
    size = COLOPHON_PT
    names = "，".join(cc) + "。" if cc else ""
    width = TEXT_W_MM * MM_PT
    thick, thin = 8, 6          # eighths of a point: 1 pt ≈ 0.35 mm, 0.75 pt ≈ 0.26 mm
    made = []

    def line(first, last, hang=0.0):
        p = para(doc, indent=False, size=size, line=LINE_PT)
        fmt = p.paragraph_format
        fmt.left_indent, fmt.right_indent = Pt(size + hang), Pt(size)
        if hang:
            fmt.first_line_indent = Pt(-hang)
        if first:
            _border(p, "top", "000000", thick, space=0)
        _border(p, "bottom", "000000", thick if last else thin, space=0)
        made.append(p)
        return p

    lines = 1
    if names:
        p = line(True, False, hang=3 * size)
        set_font(p.add_run("抄送：" + names), FANGSONG, size)
        per_line = int((width - 2 * size) / size) - 3
        lines += -(-len(names) // per_line)
    p = line(not names, True)
    # a right tab stop at the right indent (tab positions count from the margin)
    p.paragraph_format.tab_stops.add_tab_stop(Pt(width - size), WD_TAB_ALIGNMENT.RIGHT)
    set_font(p.add_run(f"{printer}\t{print_date}印发"), FANGSONG, size)
    height = lines * LINE_PT + 3
    box = parse_xml(BOX_XML.format(cx=round(width * EMU_PT), cy=round(height * EMU_PT), id=900))
    content = box.find(".//" + qn("w:txbxContent"))
    for q in made:
        content.append(q._p)          # moves the paragraph out of the body into the box
    anchor = para(doc, indent=False, line=1, size=1)
    anchor.add_run()._r.append(box)
