"""Dashboard building blocks on hand-made metrics frames and on a real warehouse (no browser)."""
from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from dashboards import figures
from dashboards.export import frame_to_xlsx, safe_cell
from dashboards.heatmap import heatmap
from dashboards.pagekit import query_after_controls, state_from_search
from dashboards.state import ViewState
from dashboards.tables import indicator_rows
from dashboards.theme import FONT_FAMILY, fmt_gap, fmt_value
from dashboard_data import ACTIVATION, NINGDE, create_app, load_ningde


def gaps_frame() -> pd.DataFrame:
    """metrics.gaps-shaped rows: a city and four districts for one % indicator."""
    base = dict(indicator_code="x_rate", indicator_name="某比率", unit="%", direction="higher",
                kind="ratio", aggregation="flow", frequency="季度", period="2024Q2", basis="period",
                figure_period="2024Q2", judged_on="period", row_kind="own", judge="hold",
                comparator=">=", target=70.0, parent_code="C", tolerance=2.0, streak=0,
                expected=70.0, baseline=None, on_track=None, forecast=None, completion=None,
                value_source="reported", reporters=1, expected_reporters=1, partial_reporters=0,
                needed_per_month=None, months_left=None, missing_months=None, last_month=None,
                rank_ties=None, rated=True)
    rows = [
        dict(region_code="C", region_name="全市", is_parent=True, sort_order=0, actual=71.0, gap=float("nan"),
             status="数据不全", rated=False, rank=None, rank_of=None, reporters=2,
             expected_reporters=4, partial_reporters=1, row_kind="rollup", value_source="rolled_up"),
        dict(region_code="A", region_name="甲区", is_parent=False, sort_order=1, actual=75.5, gap=5.5,
             status="达标", rank=1, rank_of=2, rank_ties=1),
        dict(region_code="B", region_name="乙县", is_parent=False, sort_order=2, actual=69.0, gap=-1.0,
             status="接近", rank=2, rank_of=2, rank_ties=1, streak=3),
        dict(region_code="D", region_name="丙镇", is_parent=False, sort_order=3, actual=float("nan"),
             gap=float("nan"), status="未报送", rank=None, rank_of=None, reporters=0, rated=False),
        dict(region_code="E", region_name="丁乡", is_parent=False, sort_order=4, actual=64.0,
             gap=float("nan"), status="数据不全", rank=None, rank_of=None, reporters=0,
             partial_reporters=1, missing_months="6", rated=False),
    ]
    return pd.DataFrame([{**base, **r} for r in rows])


def test_ranking_figure_orders_by_rank_and_colours_by_status():
    rows = gaps_frame()
    fig = figures.ranking_figure(rows[~rows["is_parent"]], unit="%", title="排名")
    bars = fig.data[0]
    assert list(bars.y) == ["甲区", "乙县", "丙镇", "丁乡"]         # rank 1, 2, then unranked
    assert list(bars.x) == [75.5, 69.0, 0, 64.0]
    assert list(bars.marker.color) == ["#0072B2", "#E69F00", "#BBBBBB", "#C9C9C9"]
    assert list(bars.text) == ["✓ 75.50%", "≈ 69.00%", "— 未报送", "◔ 64.00%（数据不全）"]
    assert list(fig.data[1].x) == [70.0] * 4 and fig.data[1].name == "目标"
    assert fig.layout.font.family == FONT_FAMILY and "Noto Sans CJK SC" in FONT_FAMILY


def test_trend_figure_draws_target_path_and_forecast():
    series = pd.DataFrame({"period": ["2024-01", "2024-02", "2024-03"], "actual": [60.0, 62.0, None],
                           "target": [70.0] * 3, "expected": [61.0, 63.0, 65.0]})
    fig = figures.trend_figure({"全市": series}, unit="%", title="走势", forecast=("2024-12", 74.2))
    names = [t.name for t in fig.data]
    assert names == ["目标", "序时进度", "全市", "年末预测"]
    assert list(fig.data[0].x) == ["1月", "2月", "3月"]
    assert list(fig.data[2].y)[:2] == [60.0, 62.0]
    assert list(fig.data[3].x) == ["12月"] and list(fig.data[3].y) == [74.2]
    empty = figures.trend_figure({"全市": series.assign(actual=None)}, unit="%", title="走势")
    assert empty.layout.annotations[0].text == "该期间暂无数据"


def test_small_multiples_one_panel_per_indicator():
    s = pd.DataFrame({"period": ["2024Q1", "2024Q2"], "actual": [1.0, 2.0], "target": [3.0, 3.0],
                      "expected": [None, None]})
    fig = figures.small_multiples([("甲指标", "个", s), ("乙指标", "%", s), ("丙", "%", s.iloc[0:0])])
    assert [a.text for a in fig.layout.annotations] == ["甲指标", "乙指标"]
    assert sum(1 for t in fig.data if t.name == "实际值") == 2


def _parts(cell) -> list[str]:
    """A heatmap cell's three lines as text: value (its symbol span is for meeting mode only),
    gap or note, symbol and status."""
    value, second, status = cell.children.children
    return [value.children[1].children, second.children,
            "".join(c if isinstance(c, str) else c.children for c in status.children)]


def test_heatmap_cells_show_value_gap_status_and_link():
    state = ViewState(jurisdiction="C", period="2024Q2", basis="ytd")
    table = heatmap(gaps_frame(), state).children[0].children
    rows = table.children[1].children
    assert rows[0].children[0].children.children == "全市"          # the parent row first
    cell = rows[2].children[1]                                        # 乙县
    assert _parts(cell) == ["69.00", "−1.00", "≈ 接近"]
    assert cell.children.children[0].children[0].children == "≈"     # shown in meeting mode
    assert cell.children.href == "/district?jurisdiction=C&period=2024Q2&basis=ytd&indicator=x_rate&region=B"
    assert "连续未达标：3 期" in cell.title and "排名：第 2 / 2 名" in cell.title
    missing = rows[3].children[1]
    assert _parts(missing) == ["—", "", "— 未报送"]
    partial = rows[4].children[1]                                     # the months it has, labelled
    assert _parts(partial) == ["64.00", "缺6月", "◔ 数据不全"]
    assert "缺6月数据" in partial.title and "status-partial" in partial.className
    city = rows[0].children[1]
    assert _parts(city) == ["71.00", "2/4报齐", "◔ 数据不全"]
    assert "报送：2/4 个地区数据齐全，1 个不全" in city.title


def test_a_region_that_does_not_report_an_indicator_shows_nothing():
    frame = gaps_frame()
    other = frame.iloc[[0]].assign(indicator_code="y_count", indicator_name="某个数", unit="个",
                                   status="达标", rated=True, row_kind="own")
    table = heatmap(pd.concat([frame, other]), ViewState(jurisdiction="C", period="2024Q2")).children[0].children
    rows = table.children[1].children
    assert rows[0].children[2].className.endswith("status-met")      # the city reports it itself
    assert rows[1].children[2].className == "hm-cell hm-empty" and rows[1].children[2].children == ""


def test_indicator_rows_are_numbers_for_sorting():
    rows = indicator_rows(gaps_frame())
    assert [r["region_name"] for r in rows] == ["全市", "甲区", "乙县", "丙镇", "丁乡"]
    assert rows[2]["actual"] == 69.0 and rows[2]["gap"] == -1.0 and rows[2]["status"] == "≈ 接近"
    assert rows[0]["reporting"] == "2/4 个地区数据齐全，1 个不全" and rows[3]["actual"] is None
    assert rows[4]["status"] == "◔ 数据不全" and "缺6月数据" in rows[4]["note"]
    assert rows[4]["expected"] is None                                 # not rated: no 序时进度


def test_formats():
    assert fmt_value(81.456, "%") == "81.46%" and fmt_value(25.0, "家") == "25家"
    assert fmt_value(float("nan"), "%") == "—"
    assert fmt_gap(-3.254, "%") == "−3.25个百分点" and fmt_gap(2, "家") == "+2家"
    # a shortfall too small to show is never written as zero
    assert fmt_gap(-0.001, "%") == "−0.001个百分点" and fmt_gap(-0.0001, "%") == "−<0.001个百分点"
    assert fmt_gap(0.0, "%") == "±0.00个百分点"              # (one more decimal, then "<")


def test_export_escapes_formulas_and_keeps_numbers():
    frame = pd.DataFrame({"name": ["=1+1", "+A1", "-x", "@f", "正常", None], "v": [1.5, -2.0, 3, 4, 5, 6]})
    data = frame_to_xlsx(frame, {"name": "地区", "v": "数值"}, sheet="明细", title="-标题")
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws["A1"].value == "'-标题"
    assert [ws.cell(row=r, column=1).value for r in range(3, 9)] == ["'=1+1", "'+A1", "'-x", "'@f", "正常", None]
    assert [ws.cell(row=r, column=2).value for r in range(3, 5)] == [1.5, -2.0]
    assert all(ws.cell(row=r, column=1).data_type != "f" for r in range(1, 9))
    assert safe_cell(-3) == -3


def test_url_state_round_trip_and_controls():
    s = state_from_search("?jurisdiction=350900&period=2024Q2&basis=ytd&as_of=2024-07-01T08:00:00&mode=meeting")
    assert s.basis == "ytd" and s.meeting and s.as_of_time.hour == 8
    assert state_from_search("?basis=bogus&as_of=notatime").basis == "period"
    assert state_from_search("?as_of=notatime").as_of is None
    # Changing the year keeps the quarter; changing the jurisdiction drops the region.
    q = query_after_controls(s.with_(region="350902"), {"jurisdiction": "350900", "year": 2023,
                                                         "period": "2024Q2", "basis": "period"})
    assert q == "?jurisdiction=350900&period=2023Q2&region=350902&as_of=2024-07-01T08:00:00&mode=meeting"
    q = query_after_controls(s, {"jurisdiction": "331081", "year": 2024, "period": "2024Q2",
                                 "basis": "ytd", "region": "350902"})
    assert q == "?jurisdiction=331081&period=2024Q2&basis=ytd&as_of=2024-07-01T08:00:00&mode=meeting"
    q = query_after_controls(ViewState(jurisdiction="J", period="2024Q2"),
                             {"jurisdiction": "J", "year": 2024, "period": "2024Q2", "basis": "period",
                              "indicator": "x", "region": ["A", "B"]})
    assert q == "?jurisdiction=J&period=2024Q2&indicator=x&region=A,B"


@pytest.fixture
def app(warehouse_path):
    from pipelines import db
    con = db.connect(warehouse_path)
    load_ningde(con)
    con.close()
    application = create_app(warehouse_path)
    yield application
    application.server.config["WAREHOUSE"].close()


def test_pages_render_from_the_warehouse_and_skeletons_touch_nothing(app):
    """Each page's layout on a real warehouse; the validation skeleton needs no data."""
    import sys
    pages = {name: sys.modules[f"dashboards.pages.{name}"]
             for name in ("overview", "indicator", "district", "submissions", "targets")}
    with app.server.test_request_context():
        for name, module in pages.items():
            skeleton = module.layout()                    # Dash's validation pass
            assert skeleton is not None
        overview = pages["overview"].layout(rendering="page", jurisdiction=NINGDE, period="2024Q2")
        text = str(overview)
        assert "宁德市 2024年第二季度 指标完成情况（当期）" in text and "72.0" in text
        bad = pages["overview"].layout(rendering="page", jurisdiction="nowhere", period="garbage")
        assert "宁德市" in str(bad)                       # falls back to the first plan, latest quarter
        ind = pages["indicator"].layout(rendering="page", jurisdiction=NINGDE, period="2024Q2",
                                        indicator=ACTIVATION, region="350902,bogus")
        assert "医保电子凭证激活率（%）" in str(ind)


def test_empty_warehouse_says_so_in_chinese(warehouse_path):
    application = create_app(warehouse_path)
    import sys
    try:
        with application.server.test_request_context():
            text = str(sys.modules["dashboards.pages.overview"].layout(rendering="page"))
            assert "尚无任何地区报送数据" in text
            text = str(sys.modules["dashboards.pages.indicator"].layout(rendering="page"))
            assert "尚无地区报送该指标" in text
    finally:
        application.server.config["WAREHOUSE"].close()


def test_missing_warehouse_is_a_chinese_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="请先运行 python -m pipelines init"):
        create_app(tmp_path / "none.duckdb")


def test_headline_counts_rated_indicators_only():
    from dashboards.components import headline
    frame = gaps_frame()
    parent = pd.concat([frame.iloc[[0]].assign(indicator_code=f"i{k}", status=s)
                        for k, s in enumerate(["达标", "未达标", "数据不全", "未到期", "无目标", "达标"])])
    children = frame[~frame.is_parent]
    box = headline(parent, children, None, ViewState(jurisdiction="C", period="2024Q2"))
    items = {i.children[0].children: [c.children for c in i.children[1:]] for i in box.children}
    assert items["指标达标"] == ["2 / 3", "未评价：数据不全1项、未到期1项、无目标1项"]
    # 丙镇 sent nothing, 丁乡 part of its months: 3 of 4 units reported something
    assert items["报送地区"] == ["3 / 4", "1 项数据不全"]
