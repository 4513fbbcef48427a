"""The bulletin's writers on hand-made Metrics frames: formatting, Chinese sentences, the Word
layout (公文), the Excel annex (formula neutralising) and the charts (no missing glyphs)."""
from __future__ import annotations

import datetime as dt
import math
import warnings

import pandas as pd

from pipelines.bulletin import fmt
from pipelines.bulletin import text as T
from pipelines.bulletin.model import Bulletin, build_sections, summarise_submissions
from pipelines.periods import quarter

NAN = math.nan
ACT = "evoucher_activation_rate"
DAYS = "transfer_days"
SITES = "hospital_service_stations"

INDICATORS = pd.DataFrame([
    dict(code=ACT, name="医保电子凭证激活率", unit="%", kind="ratio", frequency="月度",
         aggregation="stock", direction="higher", numerator_label="已激活人数",
         denominator_label="参保人数", sort_order=1),
    dict(code=DAYS, name="转移接续办理时限", unit="工作日", kind="mean", frequency="季度",
         aggregation="flow", direction="lower", numerator_label="办理总天数",
         denominator_label="办件数", sort_order=2),
    dict(code=SITES, name="医院医保服务站个数", unit="个", kind="count", frequency="季度",
         aggregation="stock", direction="higher", numerator_label="服务站个数",
         denominator_label=None, sort_order=3),
    dict(code="town_demo_sites", name="乡镇示范点个数", unit="个", kind="count", frequency="年度",
         aggregation="stock", direction="higher", numerator_label="示范点个数",
         denominator_label=None, sort_order=4),
])
NAMES = {ACT: "医保电子凭证激活率", DAYS: "转移接续办理时限", SITES: "医院医保服务站个数",
         "town_demo_sites": "乡镇示范点个数"}
UNITS = {ACT: "%", DAYS: "工作日", SITES: "个", "town_demo_sites": "个"}


def row(region, name, ind, actual, target, gap, status, *, parent=False, rank=None, streak=0,
        completion=NAN, order=0, **extra):
    base = dict(region_code=region, region_name=name, parent_code=None if parent else "350900",
                is_parent=parent, sort_order=order, indicator_code=ind, indicator_name=NAMES[ind],
                unit=UNITS[ind], direction="lower" if ind == DAYS else "higher", period="2024Q3",
                actual=actual, target=target, gap=gap, completion=completion, status=status,
                rank=NAN if rank is None else rank, rank_of=NAN, streak=streak,
                value_source="reported", reporters=0, expected_reporters=0,
                comparator="<=" if ind == DAYS else ">=", target_source="宁政办规〔2022〕8号 十、（二十一）",
                expected=NAN, on_track=None, needed_per_month=NAN, months_left=NAN)
    base.update(extra)
    return base


def gaps_q3() -> pd.DataFrame:
    return pd.DataFrame([
        row("350900", "宁德市", ACT, 67.55, 70, -2.45, "未达标", parent=True, completion=96.5,
            streak=1, expected=68.2, on_track=False, needed_per_month=0.8167, months_left=3),
        row("350902", "蕉城区", ACT, 72.3, 70, 2.3, "达标", rank=1, completion=103.3, order=1),
        row("350925", "周宁县", ACT, 58.1, 70, -11.9, "未达标", rank=3, streak=2, completion=83.0,
            order=2),
        row("350923", "=屏南县", ACT, 69.0, 70, -1.0, "接近", rank=2, completion=98.6, order=3),
        row("350926", "柘荣县", ACT, NAN, 70, NAN, "未报送", order=4),
        row("350900", "宁德市", DAYS, 12.5, 10, -2.5, "未达标", parent=True, completion=80.0),
        row("350902", "蕉城区", DAYS, 9.0, 10, 1.0, "达标", rank=1, completion=111.1, order=1),
        row("350900", "宁德市", SITES, 25, NAN, NAN, "无目标", parent=True),
        row("350902", "蕉城区", SITES, 12, NAN, NAN, "无目标", rank=1, order=1),
        row("350925", "周宁县", SITES, 13, NAN, NAN, "无目标", rank=1, order=2),
        row("350900", "宁德市", "town_demo_sites", 4, 5, -1, "未达标", parent=True),
    ])


def gaps_q2() -> pd.DataFrame:
    return pd.DataFrame([row("350900", "宁德市", ACT, 66.1, 70, -3.9, "未达标", parent=True)])


def bulletin(demo=False) -> Bulletin:
    q = quarter(2024, 3)
    sections = build_sections(gaps_q3(), gaps_q2(), INDICATORS, q)
    status = pd.DataFrame([
        dict(region_code="350902", region_name="蕉城区", period="2024-09", status="按时"),
        dict(region_code="350925", region_name="周宁县", period="2024-09", status="逾期"),
        dict(region_code="350926", region_name="柘荣县", period="2024-09", status="未报送"),
        dict(region_code="350926", region_name="柘荣县", period="2024-06", status="未报送"),
    ])
    subs = [summarise_submissions(status, [p.code for p in q.months()], "月报",
                                  ["350900", "350902", "350925", "350926"])]
    return Bulletin(jurisdiction_code="350900", jurisdiction_name="宁德市", level="市", quarter=q,
                    issue_date=dt.date(2024, 10, 15), as_of=None,
                    data_as_of=dt.datetime(2024, 10, 12, 9, 30), child_term="县（市、区）",
                    sections=sections, submissions=subs, is_demo=demo, targets=pd.DataFrame())


def test_format_each_number_once():
    assert fmt.fmt_number(67.5467, "%") == "67.55"
    assert fmt.fmt_number(70.0, "%", "target") == "70"
    assert fmt.fmt_number(99.5, "%", "target") == "99.5"
    assert fmt.fmt_number(25.0, "个") == "25"
    assert fmt.fmt_number(96.4999, "%", "rate") == "96.5"
    assert fmt.fmt_number(-0.001, "%") == "0.00"
    assert fmt.fmt_number(NAN, "%") == fmt.fmt_number(None, "%") == "—"
    assert fmt.with_unit("3.50", "工作日") == "3.50个工作日"
    assert [fmt.cn_count(n) for n in (2, 3, 10, 12)] == ["两", "三", "十", "十二"]
    assert fmt.excel_format("%") == "0.00" and fmt.excel_format("个", "value", 3.0) == "0"


def test_sections_skip_annual_indicators_before_q4_and_order_children():
    b = bulletin()
    assert [s.info.code for s in b.sections] == [ACT, DAYS, SITES]
    act = b.sections[0]
    assert [f.region_name for f in act.children] == ["蕉城区", "=屏南县", "周宁县", "柘荣县"]
    assert [f.region_name for f in act.best] == ["蕉城区"] and [f.region_name for f in act.worst] == ["周宁县"]
    assert (act.change_s, act.change_sign) == ("1.45", 1)
    assert b.status_counts() == {"达标": 0, "接近": 0, "未达标": 2, "未报送": 0, "数据不全": 0,
                                 "无业务": 0, "未到期": 0, "无目标": 1}


def test_sentences_are_generated_from_the_numbers():
    b = bulletin()
    act, days, sites = b.sections
    assert T.value_sentence(b, "全市", act.info.name, act.parent) == (
        "全市医保电子凭证激活率为67.55%，低于目标（70%）2.45个百分点，完成率96.5%，未达标。")
    assert T.change_sentence(act) == "较上季度（66.10%）上升1.45个百分点。"
    assert T.value_sentence(b, "全市", days.info.name, days.parent) == (
        "全市转移接续办理时限为12.50个工作日，高于目标上限（10个工作日）2.50个工作日，"
        "完成率80.0%，未达标。")
    assert T.value_sentence(b, "全市", sites.info.name, sites.parent) == (
        "全市医院医保服务站个数为25个，暂无目标值，仅作监测。")
    assert T.value_sentence(b, "柘荣县", act.info.name, act.children[-1]) == (
        "柘荣县医保电子凭证激活率（目标70%）本期未报送数据。")
    behind = T.behind_paragraph(b)
    assert behind.startswith("医保电子凭证激活率1个县（市、区）未达标：周宁县为58.10%，差11.90个百分点")
    assert "周宁县连续两个季度未达标" in behind


def _section(rows, q=quarter(2024, 3)):
    return build_sections(pd.DataFrame(rows), None, INDICATORS, q)[0]


def test_ties_are_named_and_nobody_is_last_among_equals():
    b = bulletin()
    same = [row("350900", "宁德市", ACT, 100.0, 70, 30, "达标", parent=True)] + [
        row(code, name, ACT, 100.0, 70, 30, "达标", rank=1, rank_of=3, rank_ties=3, order=i)
        for i, (code, name) in enumerate([("350902", "蕉城区"), ("350925", "周宁县"), ("350926", "柘荣县")], 1)]
    s = _section(same)
    assert s.best == [] and s.worst == []
    b.sections = [s]
    praise = T.praise_paragraph(b)
    assert "居首位" not in praise and "医保电子凭证激活率各县（市、区）均为100.00%，全部达标" in praise
    tied_last = [row("350900", "宁德市", ACT, 80.0, 70, 10, "达标", parent=True),
                 row("350902", "蕉城区", ACT, 90.0, 70, 20, "达标", rank=1, rank_of=3, rank_ties=1, order=1),
                 row("350925", "周宁县", ACT, 62.0, 70, -8, "未达标", rank=2, rank_of=3, rank_ties=2, order=2),
                 row("350926", "柘荣县", ACT, 62.0, 70, -8, "未达标", rank=2, rank_of=3, rank_ties=2, order=3)]
    b.sections = [_section(tied_last)]
    assert "周宁县、柘荣县均为62.00%，差8.00个百分点" in T.behind_paragraph(b)
    assert "蕉城区（90.00%）" in T.praise_paragraph(b)


def test_figures_not_rated_say_so_and_never_read_as_all_reported():
    b = bulletin()
    rows = [row("350900", "宁德市", ACT, 69.1, 70, NAN, "数据不全", parent=True, row_kind="rollup",
                reporters=9, expected_reporters=10, partial_reporters=1, value_source="rolled_up"),
            row("350902", "蕉城区", ACT, 72.3, 70, 2.3, "达标", rank=1, rank_of=1, rank_ties=1, order=1),
            row("350925", "周宁县", ACT, 58.1, 70, NAN, "数据不全", order=2, missing_months="9",
                aggregation="stock", last_month=8)]
    s = _section(rows)
    assert T.value_sentence(b, "全市", s.info.name, s.parent) == (
        "全市医保电子凭证激活率为69.10%，10个县（市、区）中9个数据齐全，数据不全，暂不评价。")  # no nested （（）） (GB/T 15834)
    b.sections = [s]
    honest = T.honest_status_paragraph(b)
    assert "医保电子凭证激活率周宁县数据不全" in honest and "不计为零" in honest
    # a count to reach by the year end is judged on its 序时进度, and says so
    reach = [row("350900", "宁德市", SITES, 20, 25, -5, "达标", parent=True, judge="reach",
                 baseline=13.0, expected=19.0)]
    s = _section(reach)
    assert T.value_sentence(b, "全市", s.info.name, s.parent) == (
        "全市医院医保服务站个数为20个，年度目标为25个，按序时进度本期应达到19个，符合序时进度。")


def test_verbs_units_and_report_back_date():
    """压缩 a time limit, 增加 a count, 提高 a rate; 个百分点 for rates; a date to report back."""
    assert [T.verb("lower", "工作日"), T.verb("higher", "家"), T.verb("higher", "%"),
            T.verb("lower", "%")] == ["压缩", "增加", "提高", "降低"]
    assert T.units_phrase(["A", "B", "C"], 3, "镇（街道）") == "各镇（街道）"
    assert T.units_phrase(list("ABCDEF"), 11, "县（市、区）") == "A、B、C等6个县（市、区）"
    b = bulletin()
    rect = dict(T.rectification(b, "2024年10月30日"))
    assert ("医保电子凭证激活率：全市为67.55%，距目标（70%）还差2.45个百分点，2024年剩余3个月需平均"
            "每月提高0.82个百分点") in rect["补齐短板。"]
    assert ("转移接续办理时限：全市为12.50个工作日，距目标（10个工作日）还差2.50个工作日"
            in rect["补齐短板。"])
    assert "于2024年10月30日前将整改情况书面报送宁德市医疗保障局" in rect["抓好整改落实。"]
    assert "请柘荣县于2024年10月30日前补报" in rect["规范数据报送。"]
    subs = T.submission_short(b)[0]
    assert subs.startswith("本季度应报月报3份，其中按时报送1份、逾期报送1份、未报送1份。")
    assert T.demo_note() not in "".join(T.overall_short(b))
    assert T.demo_note() in "".join(T.overall_short(bulletin(demo=True)))
    assert T.nested_brackets("甲（乙（丙）丁）") and not T.nested_brackets("甲（乙）丙（丁）")


def test_word_document_is_short_with_one_table(tmp_path):
    from docx import Document
    from docx.oxml.ns import qn

    from pipelines.bulletin.docx_writer import write_docx
    path = write_docx(bulletin(), tmp_path / "b.docx", charts={})
    doc = Document(str(path))
    paras = doc.paragraphs
    assert paras[1].text == "宁德市医疗保障局文件"
    mark = paras[1].runs[0]
    assert str(mark.font.color.rgb) == "E60012"
    assert mark._element.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    number = next(p for p in paras if p.text.startswith("〔2024〕"))     # no settings: no 代字
    assert number._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom")).get(qn("w:color")) == "E60012"
    assert len(doc.tables) == 1                                         # detail is in the annex
    first = [c.text for c in doc.tables[0].rows[1].cells]
    assert first == ["1", "医保电子凭证激活率", "%", "67.55", "70", "-2.45", "96.5", "66.10", "1.45", "未达标"]
    text = "\n".join(p.text for p in paras)
    assert "示例数据" not in text and T.nested_brackets(text) == []
    assert "二、表扬和通报" in text and "整改要求" in text and "2024年10月15日" in text


def test_excel_annex_neutralises_formulas(tmp_path):
    from openpyxl import load_workbook

    from pipelines.bulletin.xlsx_writer import safe, write_xlsx
    assert [safe(v) for v in ("=1+1", "+cmd", "-2", "@SUM(A1)", "蕉城区", 3.5)] == \
        ["'=1+1", "'+cmd", "'-2", "'@SUM(A1)", "蕉城区", 3.5]
    path = write_xlsx(bulletin(), tmp_path / "b.xlsx")
    wb = load_workbook(path)
    ws = wb["分地区明细"]
    names = [r[0] for r in ws.iter_rows(min_row=4, values_only=True)]
    assert "'=屏南县" in names
    for sheet in wb.worksheets:
        for r in sheet.iter_rows():
            for c in r:
                assert c.data_type != "f", f"{sheet.title}!{c.coordinate} is a formula"
    city = next(r for r in ws.iter_rows(min_row=4) if r[12].value == "350900" and r[13].value == ACT)
    assert city[4].value == 67.55 and city[4].number_format == "0.00"
    assert city[8].value == "未达标"
    assert ws.freeze_panes == "C4"
    overview = wb["总体情况"]
    assert [c.value for c in overview[4]][:7] == ["医保电子凭证激活率", "%", 67.55, 70, -2.45, 96.5, "未达标"]
    assert overview.cell(row=4, column=17).value == ACT
    assert wb["指标口径"]["J4"].value == "宁政办规〔2022〕8号 十、（二十一）"


def test_charts_draw_chinese_without_missing_glyphs(tmp_path):
    from PIL import Image

    from pipelines.bulletin.charts import ranking_chart, trend_chart
    b = bulletin()
    act = b.sections[0]
    act.trend = pd.DataFrame({"period": ["2024-07", "2024-08", "2024-09"],
                              "actual": [66.0, 66.8, 67.55], "target": [70.0, 70.0, 70.0],
                              "expected": [67.0, 67.6, 68.2]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # "Glyph … missing from font(s)" fails the test
        r = ranking_chart(act, b.child_term, b.quarter.label, tmp_path / "r.png")
        t = trend_chart(act, b.area, tmp_path / "t.png")
    for path in (r, t):
        img = Image.open(path).convert("RGB")
        assert img.width > 600
        colours = img.getcolors(maxcolors=1 << 20)
        assert len(colours) > 20                 # drawn, not blank


def test_settings_and_serial_are_validated_strictly():
    import pytest

    from pipelines.bulletin.cli import parse_serial
    from pipelines.bulletin.settings import SettingsError, parse
    good = {"authority": "温岭市医疗保障局", "doc_prefix": "温医保发", "printer": "温岭市医疗保障局办公室",
            "report_days": "15", "cc": "温岭市人民政府办公室，台州市医疗保障局"}
    s = parse("331081", good)
    assert s.doc_number(2024, 12) == "温医保发〔2024〕12号" and s.cc == ("温岭市人民政府办公室", "台州市医疗保障局")
    for key, value, word in (("doc_prefix", "温医保〔2024〕", "机关代字"), ("report_days", "0", "整改报送期限"),
                             ("cc", "温岭市政府，x", "抄送机关"), ("authority", "", "缺失")):
        with pytest.raises(SettingsError, match=word):
            parse("331081", {**good, key: value})
    assert parse_serial("12", ValueError) == 12
    for bad in ("012", "0", "十二", "10000"):
        with pytest.raises(ValueError):
            parse_serial(bad, ValueError)


def test_a_crowd_at_the_top_is_counted_and_a_unit_late_and_missing_is_asked_once():
    b = bulletin()
    names = [("350902", "蕉城区"), ("350925", "周宁县"), ("350926", "柘荣县"), ("350923", "屏南县")]
    rows = [row("350900", "宁德市", ACT, 88.0, 70, 18, "达标", parent=True)] + [
        row(code, name, ACT, 90.0, 70, 20, "达标", rank=1, rank_of=5, rank_ties=4, order=i)
        for i, (code, name) in enumerate(names, 1)] + [
        row("350981", "福安市", ACT, 80.0, 70, 10, "达标", rank=5, rank_of=5, rank_ties=1, order=5)]
    b.sections = [_section(rows)]
    praise = T.praise_paragraph(b)
    assert "医保电子凭证激活率有4个县（市、区）并列（90.00%）" in praise and "蕉城区" not in praise
    status = pd.DataFrame([
        dict(region_code="350926", region_name="柘荣县", period="2024-08", status="逾期"),
        dict(region_code="350926", region_name="柘荣县", period="2024-09", status="未报送")])
    b.submissions = [summarise_submissions(status, ["2024-07", "2024-08", "2024-09"], "月报",
                                           ["350900", "350926"])]
    body = dict(T.rectification(b, "2024年10月30日"))["规范数据报送。"]
    assert body.startswith("请柘荣县于2024年10月30日前补报未报送的数据，并严格按规定时限报送。")
    assert body.count("柘荣县") == 1
