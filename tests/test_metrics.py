"""Metrics engine: hand-computed figures on small real warehouses (init_warehouse + load_rows).

Regions and indicators are the real ones of targets/: 宁德市 350900 with 蕉城区 350902,
福安市 350981, 福鼎市 350982, 霞浦县 350921; 温岭市 331081; 济宁市 370800.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import math

import pytest

from pipelines.load import ReturnRow, SubmissionMeta, load_rows
from pipelines.metrics import Metrics
from pipelines.periods import parse_period

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "samples"

ACT, SET = "evoucher_activation_rate", "evoucher_settlement_rate"
CITY, JIAOCHENG, FUAN, FUDING, XIAPU = "350900", "350902", "350981", "350982", "350921"
_hashes = itertools.count()


def load(con, rows, now=None, name="test.xlsx"):
    """rows: (region, indicator, period, numerator, denominator)."""
    tidy = [ReturnRow(r, i, parse_period(p), n, d) for r, i, p, n, d in rows]
    return load_rows(con, tidy, SubmissionMeta(name, f"hash-{next(_hashes)}-{id(rows)}"), now=now)


def row(frame, region, indicator):
    sel = frame[(frame.region_code == region) & (frame.indicator_code == indicator)]
    assert len(sel) == 1, (region, indicator, len(sel))
    return sel.iloc[0]


def add_target(con, indicator, region, value, *, tier="基本目标", year_from=2022, deadline=None,
               effective=None, comparator=">=", timing="year"):
    con.execute("""INSERT INTO targets (target_key, plan_code, indicator_code, region_code, tier,
        comparator, value, timing, year_from, deadline, effective, basis, origin, valid_from)
        VALUES (?, 'ningde-2022', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'period', 'test', TIMESTAMP '2000-01-01')""",
                [f"test|{indicator}|{region}|{tier}|{value}", indicator, region, tier, comparator, value,
                 timing, year_from, deadline, effective or dt.date(year_from, 1, 1)])


@pytest.fixture
def q4(con):
    """宁德 2022: settlement (monthly flow) and activation (monthly stock) for some districts."""
    load(con, [
        (JIAOCHENG, SET, "2022-09", 10, 100),
        (JIAOCHENG, SET, "2022-10", 30, 100), (JIAOCHENG, SET, "2022-11", 40, 100),
        (JIAOCHENG, SET, "2022-12", 50, 200),
        (JIAOCHENG, ACT, "2022-10", 60, 100), (JIAOCHENG, ACT, "2022-11", 65, 100),
        (JIAOCHENG, ACT, "2022-12", 72, 100),
        (FUAN, ACT, "2022-10", 500, 1000), (FUAN, ACT, "2022-11", 660, 1000),
        (FUDING, SET, "2022-10", 10, 100), (FUDING, SET, "2022-11", 10, 100),
        (FUDING, SET, "2022-12", 10, 100), (FUDING, SET, "2022Q4", 45, 300),
        *[(FUDING, SET, f"2022-{m:02d}", 20, 100) for m in range(1, 10)],
    ])
    return con


def test_flow_sums_months_and_stock_takes_last_month(q4):
    g = Metrics(q4).gaps("2022Q4", region=CITY)
    s = row(g, JIAOCHENG, SET)
    assert (s.numerator, s.denominator) == (120, 400) and s.actual == pytest.approx(30.0)
    a = row(g, JIAOCHENG, ACT)
    assert a.actual == pytest.approx(72.0) and not a.stock_month_missing
    f = row(g, FUAN, ACT)          # only Oct and Nov reported: November's pair, flagged
    assert f.actual == pytest.approx(66.0) and f.stock_month_missing


def test_quarterly_return_preferred_and_year_without_double_counting(q4):
    m = Metrics(q4)
    assert row(m.gaps("2022Q4", region=CITY), FUDING, SET).actual == pytest.approx(15.0)
    # year: Jan–Sep months (180/900) + the Q4 return (45/300), Q4's months not counted again
    y = row(m.gaps("2022", region=CITY), FUDING, SET)
    assert (y.numerator, y.denominator) == (225, 1200) and y.actual == pytest.approx(18.75)


def test_ytd_flow_and_stock(q4):
    g = Metrics(q4).gaps("2022Q4", region=CITY, basis="ytd")
    assert row(g, JIAOCHENG, SET).actual == pytest.approx(26.0)      # 130 / 500
    assert row(g, JIAOCHENG, ACT).actual == pytest.approx(72.0)      # stock: the period's value
    assert set(g.basis) == {"ytd"}


def test_city_is_ratio_of_sums_with_reporters_and_missing_district(q4):
    g = Metrics(q4).gaps("2022Q4", region=CITY)
    city = row(g, CITY, ACT)
    assert city.is_parent and city.value_source == "rolled_up"
    assert city.actual == pytest.approx(100 * 732 / 1100)             # 66.5455, not (72+66)/2
    assert city.actual != pytest.approx(69.0)
    assert (city.reporters, city.expected_reporters) == (2, 10)
    assert city.gap == pytest.approx(100 * 732 / 1100 - 70) and city.status == "未达标"
    assert math.isnan(city["rank"])
    x = row(g, XIAPU, ACT)
    assert x.status == "未报送" and math.isnan(x.actual) and x.value_source is None
    assert math.isnan(x["rank"])
    j, f = row(g, JIAOCHENG, ACT), row(g, FUAN, ACT)
    assert (j["rank"], f["rank"], j.rank_of) == (1, 2, 2)
    assert (j.status, f.status) == ("达标", "未达标")
    assert j.value_source == "reported" and j.completion == pytest.approx(72 / 70 * 100)


def test_count_targets_apply_only_to_their_region(con):
    load(con, [(JIAOCHENG, "hospital_service_stations", "2022Q4", 5, None),
               (FUAN, "hospital_service_stations", "2022Q4", 9, None)])
    g = Metrics(con).gaps("2022Q4", region=CITY)
    city = row(g, CITY, "hospital_service_stations")
    assert (city.actual, city.target, city.gap, city.status) == (14, 19, -5, "未达标")
    assert city.tolerance == pytest.approx(0.95)
    d = row(g, JIAOCHENG, "hospital_service_stations")
    assert d.actual == 5 and math.isnan(d.target) and d.status == "无目标"


def test_lower_is_better_gap_sign(con):
    load(con, [("370800", "transfer_days", "2023Q3", 340, 20), ("370800", "transfer_days", "2023Q4", 14, 1),
               ("370800", "transfer_days", "2023Q2", 340, 20)])
    m = Metrics(con)
    r = row(m.gaps("2023Q3", region="济宁市"), "370800", "transfer_days")
    assert (r.actual, r.target, r.gap, r.status) == (17, 15, -2, "未达标")
    assert r.completion == pytest.approx(15 / 17 * 100)
    r = row(m.gaps("2023Q4", region="370800"), "370800", "transfer_days")
    assert (r.gap, r.status) == (1, "达标")
    # the target is in force from 2023-07-27: 2023Q2 has none
    assert row(m.gaps("2023Q2", region="370800"), "370800", "transfer_days").status == "无目标"


def test_deadline_inside_the_year_applies_that_year_and_stays_in_force(con):
    load(con, [(JIAOCHENG, "town_window_rate", "2022Q2", 9, 10),
               (JIAOCHENG, "town_window_rate", "2023Q2", 10, 10)])
    m = Metrics(con)
    r = row(m.gaps("2022Q2", region=CITY), JIAOCHENG, "town_window_rate")
    assert (r.actual, r.target, r.gap, r.status) == (90, 100, -10, "未达标")
    assert r.target_deadline == dt.date(2022, 10, 31) and r.target_scope == CITY
    r = row(m.gaps("2023Q2", region=CITY), JIAOCHENG, "town_window_rate")
    assert (r.target, r.status) == (100, "达标")


def test_tiers_scopes_and_revision_with_effective_date(q4):
    add_target(q4, ACT, CITY, 75, tier="奋斗目标", deadline=dt.date(2022, 12, 31), timing="deadline")
    m = Metrics(q4)
    assert row(m.gaps("2022Q4", region=CITY), JIAOCHENG, ACT).status == "达标"
    r = row(m.gaps("2022Q4", region=CITY, tier="奋斗目标"), JIAOCHENG, ACT)
    assert (r.target, r.gap, r.tier, r.status) == (75, -3, "奋斗目标", "未达标")
    # a revision for 2023 effective from July, and a district's own (nearer) target
    add_target(q4, ACT, CITY, 80, year_from=2023, effective=dt.date(2023, 7, 1))
    add_target(q4, ACT, JIAOCHENG, 60, year_from=2023)
    load(q4, [(FUAN, ACT, "2023-06", 75, 100), (FUAN, ACT, "2023-09", 75, 100),
              (JIAOCHENG, ACT, "2023-06", 65, 100)])
    q2, q3 = m.gaps("2023Q2", region=CITY), m.gaps("2023Q3", region=CITY)
    assert row(q2, FUAN, ACT).target == 70 and row(q3, FUAN, ACT).target == 80
    assert row(q3, FUAN, ACT).status == "未达标" and row(q2, FUAN, ACT).status == "达标"
    assert row(q2, JIAOCHENG, ACT).target == 60 and row(q2, JIAOCHENG, ACT).target_scope == JIAOCHENG


def test_streak_counts_consecutive_short_periods(con):
    load(con, [(JIAOCHENG, ACT, f"2023-{m:02d}", v, 100)
               for m, v in zip(range(1, 7), (65, 66, 75, 60, 61, 62))])
    m = Metrics(con)
    assert row(m.gaps("2023-06", region=CITY), JIAOCHENG, ACT).streak == 3
    assert row(m.gaps("2023-03", region=CITY), JIAOCHENG, ACT).streak == 0
    assert row(m.gaps("2023-02", region=CITY), JIAOCHENG, ACT).streak == 2   # 2022-12 未报送


def test_trajectory_from_plan_baseline_and_from_last_december(con):
    oc, wl = "online_completion_rate", "331081"
    load(con, [(wl, oc, "2023Q1", 78, 100), (wl, oc, "2023Q2", 83, 100)])
    m = Metrics(con)
    r = row(m.gaps("2023Q2", region=wl), wl, oc)
    assert (r.target, r.status) == (85, "接近")
    assert r.baseline == 80                        # plan baseline (period 2022) in targets/
    assert r.expected == pytest.approx(82.5)       # 80 + (85 - 80) * 6 / 12
    assert r.on_track and r.months_left == 6
    assert r.needed_per_month == pytest.approx(2 / 6)
    load(con, [(wl, oc, "2022Q4", 70, 100)])
    r = row(m.gaps("2023Q2", region=wl), wl, oc)
    assert r.baseline == 70 and r.expected == pytest.approx(77.5)
    # trend of 2022Q4, 2023Q1, 2023Q2 (70, 78, 83 at months 0, 3, 6): slope 39/18 per month
    assert r.forecast == pytest.approx(77 + 39 / 18 * 9)


def test_as_of_before_and_after_a_revision(con):
    t0 = dt.datetime.now() + dt.timedelta(days=1)      # after targets/ was loaded
    load(con, [(JIAOCHENG, ACT, "2022-12", 72, 100)], now=t0)
    load(con, [(JIAOCHENG, ACT, "2022-12", 80, 100)], now=t0 + dt.timedelta(days=10))

    def actual(as_of):
        return row(Metrics(con, as_of=as_of).gaps("2022-12", region=CITY), JIAOCHENG, ACT).actual

    assert math.isnan(actual(t0 - dt.timedelta(hours=1)))
    assert actual(t0 + dt.timedelta(days=5)) == pytest.approx(72)
    assert actual(None) == pytest.approx(80)
    prov = Metrics(con).provenance(JIAOCHENG, ACT, "2022-12")
    assert list(prov.numerator) == [72, 80] and list(prov.is_current) == [False, True]


def test_shared_sample_expectation(con):
    expected = json.loads(next(SAMPLES.glob("*.expected.json")).read_text(encoding="utf-8"))
    m = Metrics(con)
    load(con, [(m.resolve_region(k.split("|")[0]), ACT, k.split("|")[1], n, d)
               for k, (n, d) in expected["pairs"].items()])
    r = row(m.gaps("2022年第四季度", region="宁德市"), CITY, ACT)
    assert round(r.actual, 4) == expected["宁德市 2022Q4 医保电子凭证激活率 (%)"] == 67.5466
    assert (r.target, r.status, r.reporters, r.expected_reporters) == (70, "未达标", 10, 10)


def test_reference_views(q4):
    m = Metrics(q4)
    assert m.resolve_region("蕉城") == JIAOCHENG and m.resolve_region("350900") == CITY
    with pytest.raises(ValueError, match="未知地区"):
        m.resolve_region("火星市")
    assert list(m.jurisdictions().code)[:2] == ["331081", CITY]
    assert m.periods(CITY, "Q") == ["2022Q1", "2022Q2", "2022Q3", "2022Q4"]
    inds = m.indicators(CITY).set_index("code")
    assert inds.loc[ACT, "has_data"] and inds.loc["town_window_rate", "has_target"]
    assert not inds.loc["town_window_rate", "has_data"]
    s = m.series(JIAOCHENG, SET, "2022-09", "2022-12")
    assert list(s.period) == ["2022-09", "2022-10", "2022-11", "2022-12"]
    assert list(s.actual) == pytest.approx([10, 30, 40, 25])
    t = m.targets_table(CITY)
    assert len(t) == 9 and set(t.region_code) == {CITY}


def test_submission_status_on_time_late_revised_missing_and_not_due(con):
    feb, mar = dt.datetime(2024, 3, 8, 9), dt.datetime(2024, 3, 20, 9)
    load(con, [(JIAOCHENG, SET, "2024-01", 10, 100)], now=feb)              # due 2024-02-10: late
    load(con, [(JIAOCHENG, SET, "2024-02", 10, 100)], now=feb)              # due 2024-03-10: on time
    load(con, [(JIAOCHENG, SET, "2024-02", 12, 100)], now=mar)              # ...then corrected
    load(con, [(FUAN, SET, "2024-02", 10, 100)], now=mar)                   # late
    m = Metrics(con, as_of=dt.datetime(2024, 3, 25))
    s = m.submission_status(CITY, 2024, "月度").set_index(["region_code", "period"])
    assert s.loc[(JIAOCHENG, "2024-01"), "status"] == "逾期"
    assert s.loc[(JIAOCHENG, "2024-02"), "status"] == "已更正"
    assert s.loc[(JIAOCHENG, "2024-02"), "submissions"] == 2
    assert s.loc[(FUAN, "2024-02"), "status"] == "逾期"
    assert s.loc[(FUDING, "2024-02"), "status"] == "未报送"                  # due, nothing
    assert s.loc[(FUDING, "2024-03"), "status"] == "未到期"                  # due 2024-04-10
    assert str(s.loc[(FUDING, "2024-03"), "due_date"])[:10] == "2024-04-10"
    assert len(s) == 12 * len(set(s.index.get_level_values(0)))


def test_nothing_is_owed_at_a_frequency_without_indicators(con):
    m = Metrics(con)                      # now: the targets loaded by init are in force
    assert set(m.indicators("370800")["frequency"]) == {"季度"}               # 济宁: quarterly only
    assert m.submission_status("370800", 2024, "月度").empty
    q = m.submission_status("370800", 2024, "季度")
    assert not q.empty and set(q["status"]) == {"未报送"}
