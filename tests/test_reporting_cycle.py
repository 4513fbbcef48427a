"""The reporting cycle through real workbooks: who reports what, parent rows, 0/0, yearly
returns, templates per reporter, and targets known from the plan's issue date.

Every case goes the way a user's file goes: an .xlsx written with openpyxl, `ingest_files`
(GX validation, load), then `Metrics` — and the numbers are worked out by hand below.
"""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

import returns_factory as rf
from pipelines.returns.ingest import ingest_files
from pipelines.metrics import Metrics
from pipelines.returns.templates import template_indicators, write_template
from pipelines.periods import parse_period

TODAY = dt.date(2025, 6, 15)
GULOU = "350102"
STREETS = [f"350102{i:03d}" for i in range(1, 11)]
WL = "331081"
TOWNS = [f"331081{i:03d}" for i in range(1, 17)]
SET = "evoucher_settlement_rate"


def _ingest(con, paths, tmp_path, **kw):
    kw.setdefault("today", TODAY)
    return ingest_files(con, paths, archive_dir=tmp_path / "raw", **kw)


def _row(frame, region, indicator):
    sel = frame[(frame.region_code == region) & (frame.indicator_code == indicator)]
    assert len(sel) == 1, (region, indicator, len(sel))
    return sel.iloc[0]


def _names(con, codes):
    names = dict(con.execute("SELECT code, name FROM regions").fetchall())
    return [names[c] for c in codes]


def test_a_parent_row_is_not_data_and_is_compared_with_its_units(con, tmp_path):
    # 鼓楼区's own January row (10 of 100) next to its 10 streets' Jan–Mar: street j sends
    # 30 + j of 100 a month, so the district's quarter is 3 × 355 / 3000 = 35.5 %.
    streets = _names(con, STREETS)
    rows = [("福州市鼓楼区", "2024-01", "医保电子凭证结算率", 10, 100)]
    rows += [(name, f"2024-{m:02d}", "医保电子凭证结算率", 30 + j, 100)
             for j, name in enumerate(streets, start=1) for m in (1, 2, 3)]
    rows += [("合计", "2024-02", "医保电子凭证结算率", 355, 1000)]
    path = rf.long_table(tmp_path / "gulou.xlsx", rows)
    [out] = _ingest(con, [path], tmp_path)
    assert out.status == "accepted", out.line()
    assert out.rows == 30                                      # the parent and 合计 rows left out
    parent = [w for w in out.warnings if w.cell == "A2"]
    assert len(parent) == 1 and "不是报送数据" in parent[0].message
    assert "不一致" in parent[0].message and "分子合计 355、分母合计 1000" in parent[0].message
    total = [w for w in out.warnings if w.cell == "A33"]
    assert len(total) == 1 and "与本文件中10个地区的合计一致" in total[0].message
    assert con.execute("SELECT count(*) FROM return_values WHERE region_code = ?", [GULOU]).fetchone()[0] == 0
    g = Metrics(con).gaps("2024Q1", region=GULOU)
    city = _row(g, GULOU, SET)
    assert (city.numerator, city.denominator) == (1065, 3000)
    assert city.actual == pytest.approx(35.5) and city.status == "达标" and city.row_kind == "rollup"
    s1 = _row(g, STREETS[0], SET)
    assert s1.actual == pytest.approx(31.0)


def test_a_unit_row_for_what_the_city_reports_itself_is_ignored(con, tmp_path):
    rows = [("温岭市", "2024Q1", "门诊慢特病跨省直接联网结算医疗机构家数", 16, None),
            ("太平街道", "2024Q1", "门诊慢特病跨省直接联网结算医疗机构家数", 3, None)]
    path = rf.long_table(tmp_path / "wl.xlsx", rows)
    [out] = _ingest(con, [path], tmp_path)
    assert out.status == "accepted" and out.rows == 1, out.line()
    [w] = [w for w in out.warnings if w.cell == "A3"]
    assert "由温岭市本级统一报送" in w.message
    r = _row(Metrics(con).gaps("2024Q1", region=WL), WL, "chronic_cross_province_facilities")
    assert (r.actual, r.row_kind) == (16, "own")
    # a file with nothing but such rows loads nothing and says why
    only = rf.long_table(tmp_path / "only.xlsx", [rows[1]])
    [out] = _ingest(con, [only], tmp_path)
    assert out.status == "rejected" and "没有需要载入的数据" in out.errors[0].message


def test_no_business_is_a_valid_report_and_a_numerator_without_cases_is_not(con, tmp_path):
    ok = rf.long_table(tmp_path / "zero.xlsx", [("任城区", "2024Q2", "跨省转移接续平均办理时限", 0, 0)])
    [out] = _ingest(con, [ok], tmp_path)
    assert out.status == "accepted", out.line()
    r = _row(Metrics(con).gaps("2024Q2", region="370800"), "370811", "transfer_days")
    assert (r.status, r.rated, r.reporters) == ("无业务", False, 1)
    bad = rf.long_table(tmp_path / "five.xlsx", [("兖州区", "2024Q2", "跨省转移接续平均办理时限", 5, 0)])
    [out] = _ingest(con, [bad], tmp_path)
    assert out.status == "rejected" and [e.cell for e in out.errors] == ["E2"]
    assert "分母为 0 而分子为 5" in out.errors[0].message


def test_a_rate_row_needs_its_numerator_column(con, tmp_path):
    path = rf.long_table(tmp_path / "qty.xlsx", [("蕉城区", "2024-01", "医保电子凭证结算率", 40, 100),
                                                ("蕉城区", "2024Q1", "医院医保服务站个数", 3, None)],
                         header=("地区", "统计期", "指标", "数量", "分母"))
    [out] = _ingest(con, [path], tmp_path)
    assert out.status == "rejected", out.line()
    assert [(e.sheet, e.cell) for e in out.errors] == [("数据", "D2")]
    assert "分子须填在“分子”列" in out.errors[0].message


def test_a_yearly_return_shows_in_the_fourth_quarter(con, tmp_path):
    template = write_template(con, WL, "2024", tmp_path / "wl2024.xlsx")
    codes = [i["code"] for i in template_indicators(con, WL, parse_period("2024"))]
    assert codes == ["cross_city_offline_items", "town_demo_sites", "village_demo_sites"]
    filled = rf.fill_template(template, tmp_path / "wl2024_filled.xlsx",
                              {"cross_city_offline_items": (30, None), "town_demo_sites": (5, None),
                               "village_demo_sites": (60, None)})
    [out] = _ingest(con, [filled], tmp_path)
    assert out.status == "accepted" and out.rows == 3, out.line()
    m = Metrics(con)
    q4 = m.gaps("2024Q4", region=WL)
    items = _row(q4, WL, "cross_city_offline_items")
    assert (items.figure_period, items.actual, items.target, items.status) == ("2024", 30, 28, "达标")
    sites = _row(q4, WL, "town_demo_sites")           # the deadline's period: judged on 7
    assert (sites.expected, sites.status, sites.gap) == (7, "未达标", -2)
    assert _row(m.gaps("2024-12", region=WL), WL, "town_demo_sites").figure_period == "2024"
    assert _row(m.gaps("2024", region=WL), WL, "village_demo_sites").status == "达标"
    q2 = m.gaps("2024Q2", region=WL)
    assert _row(q2, WL, "cross_city_offline_items").status == "未到期"
    assert not (q2.region_code.isin(TOWNS) & (q2.indicator_code == "cross_city_offline_items")).any()


def test_templates_list_what_each_reporter_owes(con, tmp_path):
    town = [i["code"] for i in template_indicators(con, TOWNS[0], parse_period("2024Q1"))]
    assert "online_completion_rate" in town and "chronic_cross_province_facilities" not in town
    city = [i["code"] for i in template_indicators(con, WL, parse_period("2024Q1"))]
    assert city == ["chronic_cross_province_facilities", "mobile_payment_hospitals",
                    "internet_medical_institutions"]
    with pytest.raises(ValueError, match="没有需要报送的指标"):
        write_template(con, TOWNS[0], "2024", tmp_path / "none.xlsx")
    # 郴州: every level reports its trainings, so the city's own template has them
    chenzhou = [i["code"] for i in template_indicators(con, "431000", parse_period("2024Q1"))]
    assert chenzhou == ["training_sessions"]
    wb = openpyxl.load_workbook(write_template(con, "431000", "2024Q1", tmp_path / "cz.xlsx"))
    assert [c.value for c in wb["填报表"]["A"][5:]] == ["training_sessions"]


def test_every_level_reports_its_own_figure_never_a_roll_up(con, tmp_path):
    # 郴州 "培训每年不少于2次" binds 市本级 and every 县市区: 郴州市 held 1 training in Q1 and 1 in Q2;
    # 北湖区 1 and 0; 苏仙区 none; 桂阳县 2 in Q1.
    rows = [("郴州市", "2024年第一季度", "年度业务培训次数", 1, None),
            ("郴州市", "2024年第二季度", "年度业务培训次数", 1, None),
            ("北湖区", "2024年第一季度", "年度业务培训次数", 1, None),
            ("北湖区", "2024年第二季度", "年度业务培训次数", 0, None),
            ("苏仙区", "2024年第一季度", "年度业务培训次数", 0, None),
            ("苏仙区", "2024年第二季度", "年度业务培训次数", 0, None),
            ("桂阳县", "2024年第一季度", "年度业务培训次数", 2, None),
            ("桂阳县", "2024年第二季度", "年度业务培训次数", 0, None)]
    [out] = _ingest(con, [rf.long_table(tmp_path / "cz.xlsx", rows)], tmp_path)
    assert out.status == "accepted" and out.rows == 8, out.line()
    m = Metrics(con)
    g = m.gaps("2024Q2", region="431000")          # the 当期 view judges the year to date
    city = _row(g, "431000", "training_sessions")
    assert (city.row_kind, city.judged_on, city.actual, city.reporters) == ("own", "ytd", 2, 1)
    assert (city.expected, city.status) == (pytest.approx(1.0), "达标")   # 0 → 2 by December: 1 by June
    beihu = _row(g, "431002", "training_sessions")
    assert (beihu.actual, beihu.expected, beihu.gap, beihu.status) == (1, 1, -1, "达标")
    assert beihu.needed_per_month == pytest.approx(1 / 6)
    assert _row(g, "431003", "training_sessions").status == "未达标"            # 0, 1 expected
    assert _row(g, "431021", "training_sessions").needed_per_month == 0         # met in Q1
    assert _row(g, "431022", "training_sessions").status == "未报送"
    # Q3 not reported yet: the year to date lacks its months — not rated
    assert _row(m.gaps("2024Q3", region="431000"), "431002", "training_sessions").status == "数据不全"


def test_targets_are_known_from_the_plans_issue_date_and_edits_from_their_time(con, tmp_path):
    first = dict(con.execute("SELECT plan_code, min(valid_from) FROM targets GROUP BY 1").fetchall())
    assert first["wenling-2023"] == dt.datetime(2023, 8, 30)
    assert first["ningde-2022"] == dt.datetime(2022, 10, 14)
    rows = [(name, "2024年第二季度", "医保服务事项网上办掌上办办结率", 92, 100) for name in _names(con, TOWNS)]
    [out] = _ingest(con, [rf.long_table(tmp_path / "oc.xlsx", rows)], tmp_path,
                    now=dt.datetime(2024, 7, 10, 9))
    assert out.status == "accepted", out.line()
    meeting = dt.datetime(2024, 7, 20, 15)
    r = _row(Metrics(con, as_of=meeting).gaps("2024Q2", region=WL), WL, "online_completion_rate")
    assert (r.target, r.status) == (90, "达标")
    # the bureau raises the 2024 target to 95 on the web in August: a replay of July keeps 90
    from pipelines.catalog import target_sheets
    xlsx = tmp_path / "plan.xlsx"
    target_sheets.write_plan_sheet(con, "wenling-2023", xlsx)
    wb = openpyxl.load_workbook(xlsx)
    ws = wb["目标"]
    for r_ in ws.iter_rows(min_row=2):
        if r_[0].value == "online_completion_rate" and r_[7].value == 2024:
            r_[6].value = 95
    wb.save(xlsx)
    edit = target_sheets.read_plan_workbook(con, xlsx)
    target_sheets.apply_plan(con, edit, "admin", now=dt.datetime(2024, 8, 5, 10))
    before = _row(Metrics(con, as_of=meeting).gaps("2024Q2", region=WL), WL, "online_completion_rate")
    after = _row(Metrics(con).gaps("2024Q2", region=WL), WL, "online_completion_rate")
    assert (before.target, after.target, after.status) == (90, 95, "未达标")
