"""The quarterly bulletin end to end: real warehouse, real CLI process, real LibreOffice.

Data and the CLI run: tests/bulletin_data.py (the session fixture `ningde_bulletin`, shared
with test_bulletin_layout.py).
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys

import pytest

from bulletin_data import ACT, FULL, ROOT, _env


@pytest.fixture(scope="module")
def generated(ningde_bulletin):
    return ningde_bulletin


@pytest.fixture(scope="module")
def gaps(generated):
    from pipelines import db
    from pipelines.metrics import Metrics
    con = db.connect(generated["db"], read_only=True)
    try:
        return Metrics(con).gaps("2024Q3", region="350900")
    finally:
        con.close()


@pytest.fixture(scope="module")
def document(generated):
    from docx import Document
    return Document(str(generated["docx"]))


def _body_text(doc) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


def _num(text: str):
    text = text.strip()
    return None if text == "—" else float(text)


def _row(gaps, region, indicator):
    hit = gaps[(gaps["region_code"] == region) & (gaps["indicator_code"] == indicator)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_hand_computed_figures_in_metrics(gaps):
    city = _row(gaps, "350900", ACT)
    assert city["actual"] == pytest.approx(69.5)
    assert city["gap"] != city["gap"] and city["status"] == "数据不全"     # 8 of 10: not rated
    assert (city["reporters"], city["expected_reporters"]) == (8, 10)
    full = _row(gaps, "350900", FULL)
    assert full["actual"] == pytest.approx(374 / 500 * 100) and full["gap"] == pytest.approx(-5.2)
    assert full["status"] == "未达标"
    assert _row(gaps, "350925", ACT)["streak"] == 2


def test_overview_table_equals_metrics_gaps(document, gaps):
    table = document.tables[0]
    header = [c.text for c in table.rows[0].cells]
    assert header[:8] == ["序号", "指标", "单位", "本期值", "目标值", "差距", "完成率(%)", "上季度"]
    names = {}
    for row in table.rows[1:]:
        cells = [c.text for c in row.cells]
        names[cells[1]] = cells
    city = gaps[gaps["is_parent"]]
    for _, g in city.iterrows():
        if g["indicator_name"] not in names:
            continue
        cells = names[g["indicator_name"]]
        for col, key in ((3, "actual"), (4, "target"), (5, "gap")):
            shown = _num(cells[col])
            if shown is None:
                assert g[key] != g[key]   # NaN in Metrics ↔ '—' in the table
            else:
                assert shown == pytest.approx(g[key], abs=0.005)
        assert cells[-1] == g["status"]
    act = names["医保电子凭证激活率"]
    assert act[3:10] == ["69.50", "70", "—", "—", "68.90", "—", "数据不全"]
    full = names["全程网办事项占比"]
    assert full[3:10] == ["74.80", "80", "-5.20", "93.5", "80.00", "-5.20", "未达标"]


def test_rankings_in_the_annex_and_the_behind_named_in_the_text(document, generated, gaps):
    """The main text has one table (the overview); the ranking per indicator is in the annex.
    周宁县 is last on the activation rate (6000/10000 = 60.00 %, 10.00 pp short of 70 %)."""
    from openpyxl import load_workbook
    assert len(document.tables) == 1
    text = _body_text(document)
    ws = load_workbook(generated["xlsx"])["分地区明细"]
    header = [c.value for c in ws[3]]
    col = {h: i for i, h in enumerate(header)}
    act = {r[col["地区"]]: r for r in ws.iter_rows(min_row=4, values_only=True)
           if r[col["指标编码"]] == ACT and r[col["层级"]] == "下级"}
    assert act["蕉城区"][col["排名"]] == 1 and act["周宁县"][col["排名"]] == 8
    assert act["柘荣县"][col["状态"]] == "未报送" and act["柘荣县"][col["本期值"]] is None
    for name, r in act.items():
        g = gaps[(gaps["region_name"] == name) & (gaps["indicator_code"] == ACT)].iloc[0]
        assert r[col["状态"]] == g["status"]
    assert "医保电子凭证激活率2个县（市、区）未达标：周宁县为60.00%，差10.00个百分点；屏南县为65.00%，差5.00个百分点" in text
    # 全程网办 Q3: seven units at 37/50 = 74.00 % tie and are named together, none before the others
    assert "福鼎市、霞浦县、古田县、屏南县、寿宁县、柘荣县、东侨经济技术开发区均为74.00%，差6.00个百分点" in text


def test_text_sentences_and_streak(document):
    text = _body_text(document)
    assert "关于2024年第三季度医保便民服务指标\n完成情况的通报" in text
    assert "各县（市、区）医疗保障局，东侨经济技术开发区：" in text
    assert "（宁政办规〔2022〕8号）要求" in text                        # the plan's 文号 cited
    assert "全程网办事项占比为74.80%，低于目标值（80%）5.20个百分点" in text
    assert "医保电子凭证激活率：周宁县连续两个季度未达标" in text
    assert "蕉城区、福安市参与评价的2项指标全部达标，予以表扬" in text      # 76 %, 90 % / 72 %, 80 %
    # 3 months × 10 units: July on time (8), August late (8), September on time (7) + 蕉城 revised
    assert ("本季度应报月报30份，其中按时报送15份、逾期报送8份、报送后更正1份、未报送6份。"
            "未报送的单位：柘荣县、东侨经济技术开发区。") in text
    assert "提交更正数据的单位：蕉城区" in text
    assert "医保电子凭证激活率柘荣县、东侨经济技术开发区未报送数据" in text
    assert "示例数据" in text                       # one return came through the demo channel
    assert "确保按期达标" not in text
    for heading in ("一、总体情况", "二、表扬和通报", "三、报送情况", "四、整改要求"):
        assert heading in text
    from pipelines.bulletin.text import nested_brackets
    assert nested_brackets(text.replace("\n", "")) == []


def test_excel_annex_equals_gaps_and_cli(generated, gaps):
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter
    wb = load_workbook(generated["xlsx"])
    assert {"总体情况", "分地区明细", "地区×指标", "报送情况", "指标口径", "目标来源"} <= set(wb.sheetnames)
    ws = wb["分地区明细"]
    header = [c.value for c in ws[3]]
    assert ws.freeze_panes == "C4"
    col = {h: i for i, h in enumerate(header)}
    proc = subprocess.run([sys.executable, "-m", "pipelines", "gaps", "--db", str(generated["db"]),
                           "--period", "2024Q3", "--region", "350900", "--format", "json"],
                          capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    cli = {(r["region_code"], r["indicator_code"]): r for r in json.loads(proc.stdout)}
    seen = 0
    for row in ws.iter_rows(min_row=4, values_only=True):
        key = (row[col["地区编码"]], row[col["指标编码"]])
        g = _row(gaps, *key)
        for name, field in (("本期值", "actual"), ("目标值", "target"), ("差距", "gap")):
            value = row[col[name]]
            if value is None:
                assert g[field] != g[field] and cli[key][field] is None
            else:
                assert value == pytest.approx(g[field], rel=1e-12)
                assert round(value, 4) == pytest.approx(cli[key][field])
        assert row[col["状态"]] == g["status"] == cli[key]["status"]
        seen += 1
    assert seen >= 2 * 11
    city = next(r for r in ws.iter_rows(min_row=4)
                if r[col["地区编码"]].value == "350900" and r[col["指标编码"]].value == ACT)
    assert city[col["本期值"]].number_format == "0.00"
    assert header[:2] == ["地区", "指标"]                     # Chinese names first, codes last
    # print setup: A4 landscape, one page wide, title and header rows repeated
    for sheet in wb.worksheets:
        assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows == "$1:$3"
        last = get_column_letter(sheet.max_column)
        assert sheet.print_area == f"'{sheet.title}'!$A$1:${last}${sheet.max_row}"
    subs = wb["报送情况"]
    due = [r[3] for r in subs.iter_rows(min_row=4)]
    assert due and all(isinstance(c.value, dt.date) and c.number_format == "yyyy-mm-dd" for c in due)
    assert ws.conditional_formatting                 # statuses coloured
    src = wb["目标来源"]
    docs = [r[1] for r in src.iter_rows(min_row=4, values_only=True)]
    assert "宁政办规〔2022〕8号" in docs


def test_pdf_has_cjk_font_and_a_rendered_page(generated, artifacts_dir, tmp_path):
    from PIL import Image
    pdf = generated["pdf"]
    assert pdf.exists()
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk)     # embedded
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "3", str(pdf),
                    str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    first = Image.open(pages[0]).convert("RGB")
    pixels = list(first.getdata())
    dark = sum(1 for p in pixels if sum(p) < 384)
    red = sum(1 for r, g, b in pixels if r > 180 and g < 80 and b < 80)
    assert dark > 0.01 * len(pixels)                 # text, not a blank page
    assert red > 200                                 # the red authority mark and rule
    shutil.copy(pages[0], artifacts_dir / "bulletin_page1.png")
    shutil.copy(pages[-1], artifacts_dir / "bulletin_page3.png")


def test_export_is_audited(generated):
    from pipelines import db
    con = db.connect(generated["db"], read_only=True)
    try:
        rows = con.execute("SELECT actor, subject, outcome, detail FROM audit_log "
                           "WHERE action = 'bulletin.export'").fetchall()
    finally:
        con.close()
    assert len(rows) == 1
    actor, subject, outcome, detail = rows[0]
    assert (actor, subject, outcome) == ("cli", "350900 2024Q3", "ok")
    assert json.loads(detail)["files"]["pdf"].endswith(".pdf")


def test_as_of_reproduces_earlier_numbers_and_missing_office(generated, tmp_path, monkeypatch):
    """Before the 10-12 revision 蕉城区 was 75.00 %; without LibreOffice docx + xlsx still come."""
    from openpyxl import load_workbook
    from pipelines import db
    from pipelines.bulletin import write_bulletin
    db_copy = tmp_path / "w.duckdb"
    shutil.copy(generated["db"], db_copy)
    monkeypatch.setenv("PATH", str(tmp_path))         # no libreoffice on PATH
    con = db.connect(db_copy)
    try:
        paths = write_bulletin(con, "2024Q3", region="350900", out_dir=tmp_path / "a",
                               as_of=dt.datetime(2024, 10, 11), user="analyst", serial=3)
        again = write_bulletin(con, "2024Q3", region="350900", out_dir=tmp_path / "b",
                               as_of=dt.datetime(2024, 10, 11), user="analyst", serial=3)
        outcome = con.execute("SELECT outcome FROM audit_log WHERE action = 'bulletin.export' "
                              "AND actor = 'analyst'").fetchall()
    finally:
        con.close()
    assert paths["pdf"] is None and "未找到 LibreOffice" in paths["notes"][0]
    assert paths["docx"].exists() and paths["xlsx"].exists()
    assert outcome == [("partial",), ("partial",)]

    def figures(path):
        ws = load_workbook(path)["分地区明细"]
        return [row for row in ws.iter_rows(min_row=4, values_only=True)]
    first, second = figures(paths["xlsx"]), figures(again["xlsx"])
    assert first == second
    jiaocheng = next(r for r in first if r[12] == "350902" and r[13] == ACT)   # codes last
    assert jiaocheng[4] == pytest.approx(75.0)


def test_every_jurisdiction_without_region(generated, tmp_path):
    """No --region: one set of files per jurisdiction with data; one without data this quarter
    is skipped with a Chinese note, nothing written for it."""
    from pipelines import db
    from pipelines.bulletin import write_bulletin
    from pipelines.metrics import Metrics
    db_copy = tmp_path / "w.duckdb"
    shutil.copy(generated["db"], db_copy)
    con = db.connect(db_copy)
    try:
        roots = list(Metrics(con).jurisdictions()["code"])
        result = write_bulletin(con, "2024Q3", out_dir=tmp_path / "all", pdf=False,
                                issue_date=dt.date(2024, 10, 15))
    finally:
        con.close()
    assert list(result) == roots and len(roots) == 5
    assert result["350900"]["docx"].exists() and result["350900"]["xlsx"].exists()
    wenling = result["331081"]
    assert wenling["docx"] is None and "2024年第三季度没有任何报送数据" in wenling["notes"][0]
    assert [p.name for p in (tmp_path / "all").iterdir() if "温岭" in p.name] == []


def test_bulletin_on_the_demo_warehouse(request, tmp_path):
    """On the shared demo warehouse (when the demo fixture exists): marked 示例数据, figures = gaps."""
    try:
        demo = request.getfixturevalue("demo_warehouse")
    except pytest.FixtureLookupError:
        pytest.skip("demo_warehouse fixture not available yet")
    from docx import Document
    from openpyxl import load_workbook
    from pipelines import db
    from pipelines.bulletin import write_bulletin
    from pipelines.metrics import Metrics
    db_copy = tmp_path / "demo.duckdb"
    shutil.copy(demo, db_copy)
    con = db.connect(db_copy)
    try:
        paths = write_bulletin(con, "2024Q3", region="350900", out_dir=tmp_path, pdf=False)
        gaps = Metrics(con).gaps("2024Q3", region="350900")
    finally:
        con.close()
    assert "示例数据" in "\n".join(p.text for p in Document(str(paths["docx"])).paragraphs)
    ws = load_workbook(paths["xlsx"])["分地区明细"]
    for row in ws.iter_rows(min_row=4, values_only=True):
        g = _row(gaps, row[12], row[13])
        assert row[8] == g["status"]
        if row[4] is not None:
            assert row[4] == pytest.approx(g["actual"], rel=1e-12)
