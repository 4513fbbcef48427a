"""The generated template: layout, indicators due at the frequency, hidden metadata."""
from __future__ import annotations

import openpyxl

from pipelines.returns.templates import template_indicators, write_template


def test_monthly_template_layout_and_metadata(con, tmp_path):
    path = write_template(con, "350902", "2024-03", tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["填报表"]
    assert [ws.cell(5, c).value for c in range(1, 6)] == ["指标编码", "指标名称", "分子", "分母", "备注"]
    assert (ws["B2"].value, ws["D2"].value, ws["B3"].value) == ("蕉城区", "350902", "2024-03")
    codes = [ws.cell(r, 1).value for r in range(6, ws.max_row + 1)]
    # 宁德 has targets on two monthly indicators; a month's template holds only 月度 indicators.
    assert codes == ["evoucher_activation_rate", "evoucher_settlement_rate"]
    meta = wb["_meta"]
    assert meta.sheet_state == "hidden"
    assert (meta["B1"].value, meta["B2"].value, meta["B3"].value) == ("350902", "2024-03", "1")


def test_quarter_and_year_templates_hold_their_frequency_and_what_the_reporter_owes(con):
    from pipelines.periods import parse_period
    freq = dict(con.execute("SELECT code, frequency FROM indicators").fetchall())
    targeted = {c for (c,) in con.execute(
        "SELECT DISTINCT t.indicator_code FROM targets t JOIN regions r ON r.code = t.region_code "
        "WHERE t.valid_to IS NULL AND r.jurisdiction_code = '331081'").fetchall()}
    by_city = {c for (c,) in con.execute(
        "SELECT indicator_code FROM reporting WHERE jurisdiction_code = '331081' AND reported_by = 'self'").fetchall()}
    # a 镇街's quarterly template: the quarterly indicators it reports (not the city's own counts)
    q = template_indicators(con, "331081001", parse_period("2024Q1"))
    assert q and all(freq[i["code"]] == "季度" for i in q)
    assert {i["code"] for i in q} == {c for c in targeted if freq[c] == "季度"} - by_city
    # 温岭市's own yearly template: the yearly lists it reports itself
    y = template_indicators(con, "331081", parse_period("2024"))
    assert {i["code"] for i in y} == {c for c in targeted if freq[c] == "年度"} == {
        c for c in by_city if freq[c] == "年度"}
    assert "town_demo_sites" in {i["code"] for i in y}
    assert template_indicators(con, "331081001", parse_period("2024")) == []
