"""Numbers that rounding would make lie (issue 15): a gap of −0.004 pp next to a target of 70 %
is not "70.00 −0.00 ≈接近"; it reads 69.996 and −0.004, in the grid, the indicator table and its
Excel export. Real warehouse, real Chromium (dash_duo)."""
from __future__ import annotations

import datetime as dt
import io

import pytest

from dashboard_data import create_app

pytestmark = pytest.mark.browser
NINGDE, JIAOCHENG, FUAN = "350900", "350902", "350981"
ACT = "evoucher_activation_rate"


def test_gap_decimals_rule():
    from pipelines.metrics.status import gap_decimals
    from dashboards.theme import fmt_gap, fmt_number
    assert gap_decimals("%", -0.004, 69.996, 70) == 3          # the gap would read 0.00
    assert gap_decimals("%", -0.006, 69.994, 70) == 2          # 69.99 −0.01 already says it
    assert gap_decimals("%", -1.2, 68.8, 70) == 2
    assert gap_decimals("%", 0.004, 70.004, 70) == 3           # a surplus hidden the same way
    assert gap_decimals("%", 0.0, 70.0, 70) == 2               # exactly on target: nothing hidden
    assert gap_decimals("家", -1, 11, 12) == 0 and gap_decimals("家", -0.4, 11.6, 12) == 2
    assert gap_decimals("家", -0.004, 11.996, 12) == 3       # a mean count: 2 decimals, +1
    assert fmt_gap(-0.004, "%") == "−0.004个百分点" and fmt_gap(-0.0004, "%") == "−<0.001个百分点"
    assert fmt_gap(0.004, "%") == "+0.004个百分点" and fmt_gap(0.0, "%") == "±0.00个百分点"
    assert fmt_number(69.996, "%", 3) == "69.996" and fmt_number(69.996, "%") == "70.00"


@pytest.fixture
def near_db(warehouse_path):
    from pipelines import db
    from pipelines.metrics import figure_table
    from pipelines.periods import month
    from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
    con = db.connect(warehouse_path)
    rows = [ReturnRow(JIAOCHENG, ACT, month(2024, 6), 69996.0, 100000.0, sheet="汇总", row_number=3,
                      numerator_cell="D3", denominator_cell="E3"),            # 69.996 %: −0.004 pp
            ReturnRow(FUAN, ACT, month(2024, 6), 68800.0, 100000.0, sheet="汇总", row_number=4,
                      numerator_cell="D4", denominator_cell="E4")]             # 68.800 %: −1.2 pp
    load_rows(con, rows, SubmissionMeta("宁德_6月.xlsx", "near-1", "市局"), now=dt.datetime(2024, 7, 5, 9))
    figure_table.refresh(con)
    con.close()
    return warehouse_path


def test_a_hidden_shortfall_shows_one_more_decimal(dash_duo, near_db):
    from pipelines import db
    from pipelines.metrics import Metrics
    from dashboards.export import frame_to_xlsx
    from dashboards.tables import INDICATOR_COLUMNS, indicator_rows
    con = db.connect(near_db, read_only=True)
    gaps = Metrics(con).gaps("2024-06", region=NINGDE, indicators=[ACT])
    con.close()
    own = gaps.set_index("region_code")
    assert own.loc[JIAOCHENG, "status"] == "接近" and own.loc[JIAOCHENG, "gap"] == pytest.approx(-0.004)
    app = create_app(near_db)
    dash_duo.start_server(app)
    try:
        dash_duo.driver.get(dash_duo.server_url + f"/?jurisdiction={NINGDE}&period=2024-06")
        cell = f'#overview-heatmap td[data-region="{JIAOCHENG}"][data-indicator="{ACT}"]'
        dash_duo.wait_for_element(cell + " .hm-value", timeout=30)
        value = dash_duo.find_element(cell + " .hm-value").text
        gap = dash_duo.find_element(cell + " .hm-gap").text
        assert (value, gap) == ("69.996", "−0.004"), (value, gap)
        other = f'#overview-heatmap td[data-region="{FUAN}"][data-indicator="{ACT}"]'
        assert dash_duo.find_element(other + " .hm-value").text == "68.80"      # nothing hidden
        assert dash_duo.find_element(other + " .hm-gap").text == "−1.20"
        # The indicator page's table shows the same digits.
        dash_duo.driver.get(dash_duo.server_url + f"/indicator?jurisdiction={NINGDE}&period=2024-06&indicator={ACT}")
        dash_duo.wait_for_element("#indicator-table td", timeout=30)
        texts = dash_duo.driver.execute_script(
            "return [...document.querySelectorAll('#indicator-table tr')].map(r => r.innerText)")
        row = next(t for t in texts if t.startswith("蕉城区"))
        assert "69.996" in row and "-0.004" in row.replace("−", "-"), row
        assert dash_duo.get_logs() == []
    finally:
        from dashboards.store import CONFIG_KEY
        app.server.config[CONFIG_KEY].close()
    # The Excel export holds the numbers as shown, not 69.99600000000001.
    from openpyxl import load_workbook
    import pandas as pd
    frame = pd.DataFrame(indicator_rows(gaps))
    data = frame_to_xlsx(frame, {c["id"]: c["name"] for c in INDICATOR_COLUMNS}, sheet="明细", title="t")
    ws = load_workbook(io.BytesIO(data)).active
    header = [c.value for c in ws[2]]
    by_region = {r[0]: dict(zip(header, r)) for r in ws.iter_rows(min_row=3, values_only=True)}
    assert by_region["蕉城区"]["实际值"] == 69.996 and by_region["蕉城区"]["差距"] == -0.004
    assert by_region["福安市"]["实际值"] == 68.8 and by_region["福安市"]["差距"] == -1.2
    for r in by_region.values():
        for v in r.values():
            assert not isinstance(v, float) or len(repr(v).split(".")[-1]) <= 3, r
