"""GB/T 9704-2012 layout of the bulletin, measured on the real PDF (pdftotext -bbox, pdftohtml
-xml fonts, pixels of the rendered first page) and on the .docx XML.

The 宁德市 warehouse and the one CLI run (--issue-date 2024-10-15 --serial 12 --per-region)
of tests/bulletin_data.py, shared with test_bulletin_e2e.py. Expected positions, worked out from the
standard: 版心 left edge 28 mm = 79.37 pt, width 156 mm = 442.20 pt (right edge 521.57 pt),
top 37 mm = 104.88 pt, bottom 37 + 225 = 262 mm = 742.68 pt; 28 characters a line → 15.79 pt
each; 22 lines → pitch 225 mm / 22 = 28.99 pt (the grid uses 579 twips = 28.95 pt).
"""
from __future__ import annotations

import re
import subprocess
from collections import OrderedDict
from pathlib import Path

import pytest


MM = 72 / 25.4
LEFT, RIGHT = 28 * MM, (28 + 156) * MM
TOP, BOTTOM = 37 * MM, 262 * MM
CHAR = 156 * MM / 28
CJK = re.compile(r"^[\u4e00-\u9fff，。、：；（）“”]+$")


@pytest.fixture(scope="module")
def made(ningde_bulletin, tmp_path_factory):
    base = tmp_path_factory.mktemp("layout")
    out, pdf = ningde_bulletin["out"], ningde_bulletin["pdf"]
    bbox = base / "bbox.html"
    subprocess.run(["pdftotext", "-bbox", str(pdf), str(bbox)], check=True)
    xml = subprocess.run(["pdftohtml", "-xml", "-i", "-zoom", "1", "-stdout", str(pdf)],
                         capture_output=True, text=True, check=True).stdout
    return {"base": base, "out": out, "docx": ningde_bulletin["docx"], "pdf": pdf,
            "pages": _lines(bbox.read_text(encoding="utf-8")), "xml": xml}


def _lines(html: str) -> list[list[dict]]:
    """Per page, the text lines: words grouped on their bottom edge, left to right."""
    pages = []
    for page in html.split("<page ")[1:]:
        lines: OrderedDict = OrderedDict()
        for x0, y0, x1, y1, w in re.findall(
                r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page):
            lines.setdefault(round(float(y1), 0), []).append((float(x0), float(y0), float(x1), w))
        pages.append([{"x0": min(w[0] for w in ws), "y0": min(w[1] for w in ws),
                       "x1": max(w[2] for w in ws), "y1": y, "text": "".join(w[3] for w in ws)}
                      for y, ws in sorted(lines.items())])
    return pages


def _find(made, text, page=None):
    for i, lines in enumerate(made["pages"]):
        if page is not None and i != page:
            continue
        for line in lines:
            if line["text"].startswith(text):
                return i, line
    raise AssertionError(f"no line starts with {text!r}")


def test_masthead_number_rule_and_title_positions(made):
    """发文机关标志's red ink starts 35 mm below the 版心 top (72 mm from the page top); the
    发文字号 is centred; the red rule is 4 mm below it; the title is 2号 小标宋, centred."""
    from PIL import Image
    subprocess.run(["pdftoppm", "-r", "144", "-f", "1", "-l", "1", "-png", str(made["pdf"]),
                    str(made["base"] / "p")], check=True)
    img = Image.open(next(made["base"].glob("p-*.png"))).convert("RGB")
    px, (w, h) = img.load(), img.size
    red_rows = [y for y in range(int(TOP * 2), h) if any(          # below the 示例数据 mark
        (lambda p: p[0] > 180 and p[1] < 90 and p[2] < 90)(px[x, y]) for x in range(0, w, 2))]
    to_mm = 72 / 144 / MM
    assert red_rows[0] * to_mm == pytest.approx(37 + 35, abs=1.0)
    _, number = _find(made, "宁医保发〔2024〕12号", page=0)
    assert (number["x0"] + number["x1"]) / 2 == pytest.approx((LEFT + RIGHT) / 2, abs=2)
    rule = [y for y in red_rows if y * to_mm > number["y1"] / MM]
    assert rule, "no red rule below the 发文字号"
    assert rule[0] * to_mm - number["y1"] / MM == pytest.approx(4, abs=1.0)
    rule_xs = [x for x in range(w) if (lambda p: p[0] > 180 and p[1] < 90)(px[x, rule[0] + 1])]
    assert (rule_xs[-1] - rule_xs[0]) * to_mm == pytest.approx(156, abs=1.5)   # as wide as the 版心
    _, title = _find(made, "关于2024年第三季度医保便民服务指标", page=0)
    assert (title["x0"] + title["x1"]) / 2 == pytest.approx((LEFT + RIGHT) / 2, abs=3)
    assert title["y0"] > rule[0] * 72 / 144 + 2 * 28                    # 空二行 below the rule
    assert re.search(r'size="42" family="[^"]*NotoSerif[^"]*" color="#e60012"', made["xml"])
    # the page number's digits end 7 mm below the 版心 (262 mm): dark ink between 263 and 285 mm
    grey = img.convert("L").load()
    ink = [y for y in range(int(263 / to_mm), int(285 / to_mm))
           if any(grey[x, y] < 128 for x in range(int(w * 0.75), w))]
    assert ink[-1] * to_mm == pytest.approx(262 + 7, abs=0.7)


def test_body_grid_28_characters_22_lines_and_recipients(made):
    """Full lines of 3号 仿宋 hold 28 characters between the 版心 edges (a 29th only when it is
    punctuation hanging past the edge, as Word and LibreOffice allow); lines are 28.95 pt
    apart, so 22 fit in the 225 mm 版心; 主送 is flush left and names every unit kind."""
    full = [ln for page in made["pages"] for ln in page
            if CJK.match(ln["text"]) and ln["x0"] == pytest.approx(LEFT, abs=1.5)
            and ln["x1"] > RIGHT - CHAR and ln["y1"] - ln["y0"] < 22]
    assert len(full) >= 3
    inside = {len(ln["text"]) - (ln["x1"] > RIGHT + 1 and ln["text"][-1] in "，。、：；）”")
              for ln in full}
    assert inside == {28}
    pitches = []
    for page in made["pages"]:
        body = [ln for ln in page if 20 < ln["y1"] - ln["y0"] < 22 and ln["y1"] < BOTTOM + 1]
        pitches += [b["y1"] - a["y1"] for a, b in zip(body, body[1:])]
        assert all(TOP - 1 < ln["y0"] and ln["y1"] < BOTTOM + 1 for ln in body)
    assert pitches.count(pytest.approx(28.95, abs=0.3)) >= 10
    assert int((BOTTOM - TOP) // 28.95) == 22
    _, to = _find(made, "各县（市、区）医疗保障局，东侨经济技术开发区：", page=0)
    assert to["x0"] == pytest.approx(LEFT, abs=1.5)


def test_heading_fonts_differ_in_the_pdf(made):
    """一级标题 黑体 (Noto Sans), 二级标题 楷体 (AR PL UKai), body 仿宋 (Noto Serif)."""
    fonts = dict(re.findall(r'<fontspec id="(\d+)" size="16" family="([^"]+)"', made["xml"]))
    def font_of(start):
        m = re.search(rf'font="(\d+)"[^>]*>(?:<[^>]+>)*{re.escape(start)}', made["xml"])
        assert m, start
        return fonts[m.group(1)]
    assert "NotoSans" in font_of("一、总体情况")
    assert "UKai" in font_of("（一）")
    assert "NotoSerif" in font_of("按照")
    pdffonts = subprocess.run(["pdffonts", str(made["pdf"])], capture_output=True, text=True).stdout
    assert "UKai" in pdffonts


def test_annex_note_signature_date_note_colophon_and_page_numbers(made):
    pages = made["pages"]
    p, annex = _find(made, "附件：")
    assert annex["x0"] == pytest.approx(LEFT + 2 * CHAR, abs=1.5)       # 左空二字
    before = [ln for ln in pages[p] if ln["y1"] < annex["y0"]]
    assert any(ln["y1"] - ln["y0"] < 22 for ln in before)                # 正文 on the 署名's page
    _, date = _find(made, "2024年10月15日", page=p)
    assert date["x1"] == pytest.approx(RIGHT - 4 * CHAR, abs=2)          # 右空四字
    _, sign = _find(made, "宁德市医疗保障局", page=p)
    assert sign["y1"] < date["y1"]
    assert (sign["x0"] + sign["x1"]) / 2 == pytest.approx((date["x0"] + date["x1"]) / 2, abs=4)
    assert annex["y1"] < sign["y0"]
    _, note = _find(made, "（数据截至2024年10月12日）", page=p)             # no leading zero
    assert note["x0"] == pytest.approx(LEFT + 2 * CHAR, abs=1.5) and note["y0"] > date["y1"] - 1
    _, cc = _find(made, "抄送：宁德市人民政府办公室，福建省医疗保障局。", page=len(pages) - 1)
    _, last_date = _find(made, "2024年10月15日", page=len(pages) - 1)
    assert cc["x0"] == pytest.approx(LEFT + 14, abs=1.5)                  # 左空一字 (4号)
    _, printed = _find(made, "宁德市医疗保障局办公室", page=len(pages) - 1)
    assert printed["text"].endswith("2024年10月15日印发") and printed["y0"] > cc["y1"] - 1
    assert printed["x1"] == pytest.approx(RIGHT - 14, abs=2)             # 右空一字
    # 版记 at the foot of the last page: its last line ends at the 版心's bottom
    assert BOTTOM - 6 < printed["y1"] <= BOTTOM + 1
    assert cc["y0"] > last_date["y1"]
    for i, lines in enumerate(pages, 1):
        number = lines[-1]
        assert number["text"] == f"—{i}—"
        if i % 2:
            assert number["x1"] == pytest.approx(RIGHT - 14, abs=2)      # odd: right, one in
        else:
            assert number["x0"] == pytest.approx(LEFT + 14, abs=2)       # even: left, one in
        assert number["y0"] > BOTTOM
    assert 1 <= len(pages) <= 6


def test_docx_xml_margins_grid_fonts_and_numbers(made):
    from docx import Document
    from docx.oxml.ns import qn
    doc = Document(str(made["docx"]))
    sect = doc.sections[0]._sectPr
    mar = sect.find(qn("w:pgMar"))
    twips = {k: int(mar.get(qn(f"w:{k}"))) for k in ("top", "bottom", "left", "right")}
    assert {k: round(v / 1440 * 25.4) for k, v in twips.items()} == \
        {"top": 37, "bottom": 35, "left": 28, "right": 26}
    grid = sect.find(qn("w:docGrid"))
    assert grid.get(qn("w:type")) == "lines" and grid.get(qn("w:linePitch")) == "579"
    texts = [p.text for p in doc.paragraphs]
    assert "宁医保发〔2024〕12号" in texts and "宁德市医疗保障局文件" in texts
    body = next(p for p in doc.paragraphs if p.text.startswith("按照"))
    rpr = body.runs[0]._element.rPr
    assert rpr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert rpr.find(qn("w:sz")).get(qn("w:val")) == "32"                 # 3号 = 16 pt
    assert rpr.find(qn("w:spacing")).get(qn("w:val")) == "-5"            # 28 characters a line
    assert body.paragraph_format.line_spacing.pt == pytest.approx(28.95)
    h2 = next(p for p in doc.paragraphs if p.text.startswith("（一）"))
    assert h2.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "楷体_GB2312"
    annex = next(p for p in doc.paragraphs if p.text.startswith("附件："))
    fmt = annex.paragraph_format
    assert (fmt.left_indent + fmt.first_line_indent) / 12700 == pytest.approx(2 * 442.2 / 28, abs=0.1)
    assert fmt.left_indent.pt == pytest.approx(5 * 442.2 / 28, abs=0.1)  # 回行 aligns with the name
    for table in doc.tables:                       # no table wider than the 版心 (156 mm)
        widths = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.findall(qn("w:gridCol"))]
        assert sum(widths) / 1440 * 25.4 <= 156.5
    # every pPr child in schema order (Word refuses a file with them out of order)
    from pipelines.bulletin.gongwen import PPR_ORDER
    for p in doc.paragraphs:
        ppr = p._p.pPr
        if ppr is None:
            continue
        names = [c.tag.split("}")[1] for c in ppr]
        ranks = [PPR_ORDER.index(n) for n in names if n in PPR_ORDER]
        assert ranks == sorted(ranks), names


def test_per_region_notices_are_one_page_each(made):
    folder = made["out"] / "宁德市_2024Q3_医保便民服务指标通报_一地一单"
    pdfs = sorted(folder.glob("*.pdf"))
    assert len(pdfs) == 10 == len(list(folder.glob("*.docx")))            # one per unit
    for pdf in pdfs:
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        assert "Pages:           1" in info, pdf.name
    text = subprocess.run(["pdftotext", str(folder / "周宁县_2024Q3_通知单.pdf"), "-"],
                          capture_output=True, text=True).stdout
    flat = re.sub(r"\s+", "", text)
    # 周宁 Sep 6000/10000 = 60.00 %, target 70 % → 10.00 个百分点 short; last of 8 ranked
    assert "60.00%" in flat and "-10.00个百分点" in flat and "8/8" in flat
    assert "医保电子凭证激活率需提高10.00个百分点方能达到目标（70%）" in flat
    assert "2024年10月30日前" in flat                                     # 15 days after 10-15
    assert "周宁县：" in flat
