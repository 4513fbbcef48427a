"""Metrics engine: hand-computed figures on small real warehouses (init_warehouse + load_rows).

Regions, indicators and targets are the real ones of targets/ (every number below is worked
out by hand from the rows each test loads):
- 宁德市 350900, ten units (蕉城区 350902 … 东侨 350900901); 激活率 (monthly stock, ≥ 70 by
  2022-12-31 and kept), 结算率 (monthly flow, ≥ 30 judged on the year to date);
- 温岭市 331081, sixteen 镇街 331081001…016; 结算率 (monthly flow, 2024 ≥ 45 on the period),
  慢特病联网机构家数 (quarterly stock count, reported by the city itself, 2024 ≥ 25 to reach);
- 济宁市 370800, 转移接续时限 (a mean, lower is better, ≤ 15 from 2023-07-27).
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from pathlib import Path

import pytest

from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
from pipelines.metrics import Metrics
from pipelines.periods import parse_period

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "samples"

ACT, SET = "evoucher_activation_rate", "evoucher_settlement_rate"
CITY, JIAOCHENG, FUAN, FUDING, XIAPU = "350900", "350902", "350981", "350982", "350921"
NINGDE = ["350902", "350981", "350982", "350921", "350922", "350923", "350924", "350925",
          "350926", "350900901"]
WL = "331081"
TOWNS = [f"331081{i:03d}" for i in range(1, 17)]
CHRONIC = "chronic_cross_province_facilities"
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
               effective=None, comparator=">=", timing="year", judge="hold", basis="period"):
    con.execute("""INSERT INTO targets (target_key, plan_code, indicator_code, region_code, tier,
        comparator, value, timing, year_from, deadline, effective, basis, judge, origin, valid_from)
        VALUES (?, 'ningde-2022', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'test', TIMESTAMP '2000-01-01')""",
                [f"test|{indicator}|{region}|{tier}|{value}", indicator, region, tier, comparator, value,
                 timing, year_from, deadline, effective or dt.date(year_from, 1, 1), basis, judge])


def towns_quarter(skip=None):
    """Every 镇街 i = 1..16 reports 结算率 for Jan–Mar 2024: 40 + i of 100 a month."""
    return [(t, SET, f"2024-{m:02d}", 40 + i, 100) for i, t in enumerate(TOWNS, start=1)
            for m in (1, 2, 3) if (t, m) != skip]


# ---------------------------------------------------------------- flow, stock, roll-up
def test_flow_quarter_sums_its_months_and_the_city_is_the_ratio_of_sums(con):
    load(con, towns_quarter())
    g = Metrics(con).gaps("2024Q1", region=WL)
    t1 = row(g, TOWNS[0], SET)                      # 3 × 41 / 300
    assert (t1.numerator, t1.denominator, t1.actual) == (123, 300, pytest.approx(41.0))
    assert (t1.target, t1.gap, t1.status, t1.judged_on, t1.figure_period) == (45, pytest.approx(-4), "未达标", "period", "2024Q1")
    assert row(g, TOWNS[3], SET).status == "接近"    # 44 %: 1 pp short, within 2 pp
    assert row(g, TOWNS[4], SET).status == "达标"    # 45 % exactly
    city = row(g, WL, SET)                          # Σ(40+i) = 776 a month, × 3 = 2328 / 4800
    assert (city.numerator, city.denominator) == (2328, 4800)
    assert city.actual == pytest.approx(48.5) and city.status == "达标" and city.row_kind == "rollup"
    assert (city.reporters, city.expected_reporters, city.partial_reporters) == (16, 16, 0)
    assert (row(g, TOWNS[15], SET)["rank"], t1["rank"], t1.rank_of, t1.rank_ties) == (1, 16, 16, 1)


def test_a_quarter_missing_a_month_is_partial_and_so_is_its_roll_up(con):
    load(con, towns_quarter(skip=(TOWNS[2], 3)))     # 城西街道 (i = 3) sent no March
    m = Metrics(con)
    g = m.gaps("2024Q1", region=WL)
    t3 = row(g, TOWNS[2], SET)
    assert t3.status == "数据不全" and not t3.rated and not t3.complete
    assert (t3.numerator, t3.denominator, t3.actual) == (86, 200, pytest.approx(43.0))   # Jan + Feb
    assert (t3.months_covered, t3.months_expected, t3.missing_months) == (2, 3, "3")
    assert math.isnan(t3.gap) and math.isnan(t3["rank"])
    city = row(g, WL, SET)            # only the 15 complete 镇街: 2328 − 129 over 4800 − 300
    assert city.status == "数据不全" and not city.rated
    assert (city.numerator, city.denominator) == (2199, 4500)
    assert city.actual == pytest.approx(100 * 2199 / 4500)
    assert (city.reporters, city.expected_reporters, city.partial_reporters) == (15, 16, 1)
    assert row(g, TOWNS[15], SET).rank_of == 15
    # A setting may lower the share of units a roll-up needs: 15/16 ≥ 0.9 is rated.
    con.execute("UPDATE settings SET value = '0.9' WHERE key = 'rollup.min_share'")
    city = row(Metrics(con).gaps("2024Q1", region=WL), WL, SET)
    assert city.status == "达标" and city.actual == pytest.approx(100 * 2199 / 4500)


def test_stock_takes_the_last_month_and_is_partial_without_it(con):
    # district k: March 65 + k of 100; 福安 (k = 1) sent January and February only.
    rows = [(d, ACT, f"2024-{m:02d}", 60 + k, 100) for k, d in enumerate(NINGDE) for m in (1, 2)]
    rows += [(d, ACT, "2024-03", 65 + k, 100) for k, d in enumerate(NINGDE) if d != FUAN]
    load(con, rows)
    g = Metrics(con).gaps("2024Q1", region=CITY)
    f = row(g, FUAN, ACT)
    assert (f.actual, f.last_month, f.missing_months, f.status) == (pytest.approx(61.0), 2, "3", "数据不全")
    assert row(g, NINGDE[0], ACT).status == "未达标"          # 65 %, 5 pp short
    assert row(g, NINGDE[3], ACT).status == "接近"            # 68 %
    assert row(g, NINGDE[5], ACT).status == "达标"            # 70 %
    city = row(g, CITY, ACT)                                   # 9 complete: (695 − 66) / 900
    assert city.actual == pytest.approx(629 / 9) and city.status == "数据不全"
    load(con, [(FUAN, ACT, "2024-03", 66, 100)])
    city = row(Metrics(con).gaps("2024Q1", region=CITY), CITY, ACT)
    assert city.actual == pytest.approx(69.5) and city.status == "接近" and city.reporters == 10


def test_a_target_on_the_year_judges_the_year_to_date_in_both_views(con):
    # 宁德 "年度结算率不低于30%": each unit 40 % in Q1 and 20 % in Q2; the year so far is 30 %.
    rows = [(d, SET, f"2024-{m:02d}", 40 if m <= 3 else 20, 100) for d in NINGDE for m in range(1, 7)]
    load(con, [r for r in rows if not (r[0] == XIAPU and r[2] == "2024-02")])
    m = Metrics(con)
    for basis in ("period", "ytd"):
        g = m.gaps("2024Q2", region=CITY, basis=basis)
        j = row(g, JIAOCHENG, SET)
        assert (j.judged_on, j.numerator, j.denominator) == ("ytd", 180, 600)
        assert (j.actual, j.gap, j.status) == (pytest.approx(30.0), pytest.approx(0.0), "达标")
        x = row(g, XIAPU, SET)                     # Q2 complete, but the year lacks February
        assert (x.status, x.missing_months) == ("数据不全", "2")
        assert row(g, CITY, SET).status == "数据不全"
    # a target on each period judges the period: 温岭 45 % on the quarter
    load(con, [(t, SET, f"2024-{mo:02d}", 44, 100) for t in TOWNS for mo in (4, 5, 6)])
    g = m.gaps("2024Q2", region=WL)
    assert (row(g, WL, SET).judged_on, row(g, WL, SET).actual) == ("period", pytest.approx(44.0))


def test_count_targets_apply_only_to_their_region_and_reach_them_by_the_deadline(con):
    # 19 医院医保服务站 by 2022-12-31 on 宁德市: the units report, the city total is judged.
    load(con, [(d, "hospital_service_stations", "2022Q4", n, None)
               for d, n in zip(NINGDE, [5, 6, 1, 1, 1, 1, 1, 1, 1, 1])])
    load(con, [(d, "hospital_service_stations", "2022Q2", 1, None) for d in NINGDE])
    m = Metrics(con)
    g = m.gaps("2022Q4", region=CITY)
    city = row(g, CITY, "hospital_service_stations")
    assert (city.actual, city.target, city.expected, city.status) == (19, 19, 19, "达标")
    d = row(g, JIAOCHENG, "hospital_service_stations")
    assert d.actual == 5 and math.isnan(d.target) and d.status == "无目标"
    # before the deadline a count is judged on its path from 0: 19 × 6 / 12 = 9.5 by June
    city = row(m.gaps("2022Q2", region=CITY), CITY, "hospital_service_stations")
    assert (city.judge, city.baseline, city.expected) == ("reach", 0, pytest.approx(9.5))
    assert (city.actual, city.status, city.gap) == (10, "达标", -9)


def test_lower_is_better_and_a_standing_target_has_no_path(con):
    load(con, [("370811", "transfer_days", "2024Q1", 340, 20), ("370811", "transfer_days", "2023Q2", 340, 20),
               ("370811", "transfer_days", "2023Q4", 14, 1), ("370811", "transfer_days", "2024Q2", 0, 0)])
    m = Metrics(con)
    r = row(m.gaps("2024Q1", region="济宁市"), "370811", "transfer_days")
    assert (r.actual, r.target, r.expected, r.gap, r.status) == (17, 15, 15, -2, "未达标")
    assert r.standing and r.completion == pytest.approx(15 / 17 * 100)
    assert (r.months_left, r.needed_per_month) == (9, pytest.approx(2 / 9))     # 2 days less, in 9 months
    assert r.forecast >= 0
    assert row(m.gaps("2023Q4", region="370800"), "370811", "transfer_days").gap == 1
    # in force from 2023-07-27: 2023Q2 has no target; a quarter with no cases has no business
    assert row(m.gaps("2023Q2", region="370800"), "370811", "transfer_days").status == "无目标"
    r = row(m.gaps("2024Q2", region="370800"), "370811", "transfer_days")
    assert (r.status, r.reporters, math.isnan(r.actual)) == ("无业务", 1, True)


def test_deadline_inside_the_year_applies_that_year_and_stays_in_force(con):
    load(con, [(d, "town_window_rate", "2022Q2", 9, 10) for d in NINGDE])
    load(con, [(d, "town_window_rate", "2023Q2", 10, 10) for d in NINGDE])
    m = Metrics(con)
    r = row(m.gaps("2022Q2", region=CITY), JIAOCHENG, "town_window_rate")
    assert (r.actual, r.target, r.gap, r.status) == (90, 100, -10, "未达标")
    assert r.target_deadline == dt.date(2022, 10, 31) and r.target_scope == CITY
    r = row(m.gaps("2023Q2", region=CITY), JIAOCHENG, "town_window_rate")
    assert (r.target, r.status, r.standing) == (100, "达标", True)


def test_ties_are_ranked_as_ties_on_the_displayed_value(con):
    load(con, [(d, "town_window_rate", "2023Q2", 10, 10) for d in NINGDE])
    g0 = Metrics(con).gaps("2023Q2", region=CITY)
    kids = g0[~g0.is_parent & (g0.indicator_code == "town_window_rate")]
    assert set(kids["rank"]) == {1} and set(kids.rank_ties) == {10} and set(kids.rank_of) == {10}
    # 66.660 % and 66.661 % both read 66.66: a tie; 66.65 % is third.
    load(con, [(JIAOCHENG, "town_window_rate", "2023Q3", 6666, 10000),
               (FUAN, "town_window_rate", "2023Q3", 66661, 100000),
               (FUDING, "town_window_rate", "2023Q3", 6665, 10000)])
    g = Metrics(con).gaps("2023Q3", region=CITY)
    ranks = [(row(g, d, "town_window_rate")["rank"], row(g, d, "town_window_rate").rank_ties)
             for d in (JIAOCHENG, FUAN, FUDING)]
    assert ranks == [(1, 2), (1, 2), (3, 1)]


def test_tiers_scopes_and_revision_with_effective_date(con):
    load(con, [(JIAOCHENG, ACT, "2022-10", 60, 100), (JIAOCHENG, ACT, "2022-11", 65, 100),
               (JIAOCHENG, ACT, "2022-12", 72, 100)])
    add_target(con, ACT, CITY, 75, tier="奋斗目标", deadline=dt.date(2022, 12, 31), timing="deadline")
    m = Metrics(con)
    assert row(m.gaps("2022Q4", region=CITY), JIAOCHENG, ACT).status == "达标"
    r = row(m.gaps("2022Q4", region=CITY, tier="奋斗目标"), JIAOCHENG, ACT)
    assert (r.target, r.gap, r.tier, r.status) == (75, -3, "奋斗目标", "未达标")
    # a revision for 2023 effective from July, and a district's own (nearer) target
    add_target(con, ACT, CITY, 80, year_from=2023, effective=dt.date(2023, 7, 1))
    add_target(con, ACT, JIAOCHENG, 60, year_from=2023)
    load(con, [(FUAN, ACT, "2023-06", 75, 100), (FUAN, ACT, "2023-09", 75, 100),
               (JIAOCHENG, ACT, "2023-06", 65, 100)])
    q2, q3 = m.gaps("2023Q2", region=CITY), m.gaps("2023Q3", region=CITY)
    assert row(q2, FUAN, ACT).target == 70 and row(q3, FUAN, ACT).target == 80
    assert row(q3, FUAN, ACT).status == "未达标" and row(q2, FUAN, ACT).status == "达标"
    assert row(q2, JIAOCHENG, ACT).target == 60 and row(q2, JIAOCHENG, ACT).target_scope == JIAOCHENG


# ---------------------------------------------------------------- streaks and paths
def test_streak_counts_consecutive_rated_short_periods(con):
    load(con, [(JIAOCHENG, ACT, f"2023-{m:02d}", v, 100)
               for m, v in zip(range(1, 7), (65, 66, 75, 60, 61, 62))])
    m = Metrics(con)
    assert row(m.gaps("2023-06", region=CITY), JIAOCHENG, ACT).streak == 3
    assert row(m.gaps("2023-03", region=CITY), JIAOCHENG, ACT).streak == 0
    assert row(m.gaps("2023-02", region=CITY), JIAOCHENG, ACT).streak == 2   # 2022-12 未报送
    # quarters of 城西街道: 2023Q4 short, 2024Q1 partial (no March), 2024Q2 short → 1
    t = TOWNS[2]
    load(con, [(t, SET, f"2023-{mo:02d}", 30, 100) for mo in (10, 11, 12)]
         + [(t, SET, f"2024-{mo:02d}", 30, 100) for mo in (1, 2, 4, 5, 6)])
    assert row(m.gaps("2023Q4", region=WL), t, SET).streak == 1
    assert row(m.gaps("2024Q1", region=WL), t, SET).status == "数据不全"
    assert row(m.gaps("2024Q2", region=WL), t, SET).streak == 1


def test_reach_path_runs_from_last_year_end_and_the_forecast_from_the_trend(con):
    # 温岭's 慢特病联网机构 are reported by the city itself: 13 at the end of 2023, then 16 and 20.
    load(con, [(WL, CHRONIC, "2023Q4", 13, None), (WL, CHRONIC, "2024Q1", 16, None),
               (WL, CHRONIC, "2024Q2", 20, None)])
    m = Metrics(con)
    g = m.gaps("2024Q2", region=WL)
    assert g[g.indicator_code == CHRONIC].region_code.tolist() == [WL]      # no 镇街 owes it
    r = row(g, WL, CHRONIC)
    assert (r.row_kind, r.reporters, r.expected_reporters) == ("own", 1, 1)
    assert (r.judge, r.baseline, r.expected) == ("reach", 13, pytest.approx(19.0))   # 13 + 12 × 6/12
    assert (r.status, r.gap, r.months_left) == ("达标", -5, 6)
    assert r.completion == pytest.approx(80.0) and r.needed_per_month == pytest.approx(5 / 6)
    # trend of 13, 16, 20 at months 0, 3, 6: slope 7/6 a month, read at December (month 12)
    assert r.forecast == pytest.approx(49 / 3 + 7 / 6 * 9)
    assert row(m.gaps("2024Q1", region=WL), WL, CHRONIC).expected == pytest.approx(16.0)
    load(con, [(WL, CHRONIC, "2024Q4", 24, None)])
    r = row(m.gaps("2024Q4", region=WL), WL, CHRONIC)        # the deadline's period: the target
    assert (r.expected, r.status, r.forecast) == (25, "接近", 24)


def test_a_rate_holds_its_target_in_every_period(con):
    load(con, [(t, "online_completion_rate", "2023Q2", 83, 100) for t in TOWNS])
    r = row(Metrics(con).gaps("2023Q2", region=WL), WL, "online_completion_rate")
    assert (r.judge, r.target, r.expected, r.status) == ("hold", 85, 85, "接近")
    assert math.isnan(r.baseline) and r.months_left == 6 and r.needed_per_month == pytest.approx(2 / 6)


def test_forecasts_stay_within_possible_values(con):
    # a share climbing 20 points a month would pass 100 % by December; it is capped
    load(con, [(t, SET, f"2024-{mo:02d}", v, 100) for t in TOWNS for mo, v in ((1, 40), (2, 60), (3, 80))])
    r = row(Metrics(con).gaps("2024-03", region=WL), TOWNS[0], SET)
    assert r.forecast == 100
    # a count falling fast would go below zero; it stops at 0
    load(con, [(WL, CHRONIC, "2024Q1", 20, None), (WL, CHRONIC, "2024Q2", 2, None)])
    assert row(Metrics(con).gaps("2024Q2", region=WL), WL, CHRONIC).forecast == 0


# ---------------------------------------------------------------- as of, sample, reference
def test_as_of_before_and_after_a_revision(con):
    t0 = dt.datetime(2024, 2, 5, 9)
    load(con, [(JIAOCHENG, ACT, "2023-12", 72, 100)], now=t0)
    load(con, [(JIAOCHENG, ACT, "2023-12", 80, 100)], now=t0 + dt.timedelta(days=10))

    def actual(as_of):
        return row(Metrics(con, as_of=as_of).gaps("2023-12", region=CITY), JIAOCHENG, ACT).actual

    assert math.isnan(actual(t0 - dt.timedelta(hours=1)))
    assert actual(t0 + dt.timedelta(days=5)) == pytest.approx(72)
    assert actual(None) == pytest.approx(80)
    # the target was known from the plan's issue date (2022-10-14), so the replay shows it
    r = row(Metrics(con, as_of=t0 + dt.timedelta(days=5)).gaps("2023-12", region=CITY), JIAOCHENG, ACT)
    assert (r.target, r.status) == (70, "达标")
    prov = Metrics(con).provenance(JIAOCHENG, ACT, "2023-12")
    assert list(prov.numerator) == [72, 80] and list(prov.is_current) == [False, True]


def test_shared_sample_expectation(con):
    expected = json.loads(next(SAMPLES.glob("*.expected.json")).read_text(encoding="utf-8"))
    m = Metrics(con)
    load(con, [(m.resolve_region(k.split("|")[0]), ACT, k.split("|")[1], n, d)
               for k, (n, d) in expected["pairs"].items()])
    r = row(m.gaps("2022年第四季度", region="宁德市"), CITY, ACT)
    assert round(r.actual, 4) == expected["宁德市 2022Q4 医保电子凭证激活率 (%)"] == 67.5466
    assert (r.target, r.status, r.reporters, r.expected_reporters) == (70, "未达标", 10, 10)


def test_reference_views(con):
    load(con, [(JIAOCHENG, ACT, f"2022-{m}", v, 100) for m, v in ((10, 60), (11, 65), (12, 72))])
    m = Metrics(con)
    assert m.resolve_region("蕉城") == JIAOCHENG and m.resolve_region("350900") == CITY
    with pytest.raises(ValueError, match="未知地区"):
        m.resolve_region("火星市")
    assert list(m.jurisdictions().code)[:2] == ["331081", CITY]
    assert m.periods(CITY, "Q") == ["2022Q4"]
    inds = m.indicators(CITY).set_index("code")
    assert inds.loc[ACT, "has_data"] and inds.loc["town_window_rate", "has_target"]
    assert not inds.loc["town_window_rate", "has_data"]
    assert m.indicators(WL).set_index("code").loc[CHRONIC, "reported_by"] == "self"
    s = m.series(JIAOCHENG, ACT, "2022-10", "2022-12")
    assert list(s.period) == ["2022-10", "2022-11", "2022-12"]
    assert list(s.actual) == pytest.approx([60, 65, 72]) and list(s.status) == ["未达标", "未达标", "达标"]
    y = m.series(WL, "cross_city_offline_items", "2024Q1", "2024Q4", freq="Q")
    assert list(y.status)[:3] == ["未到期"] * 3 and list(y.figure_period) == [None, None, None, "2024"]
    t = m.targets_table(CITY)
    assert len(t) == 9 and set(t.region_code) == {CITY}
    rep = m.reporting_table(WL).set_index("indicator_code")
    assert rep.loc[CHRONIC, "reported_by"] == "self" and rep.loc[CHRONIC, "owing"] == 1
    assert rep.loc[SET, "reported_by"] == "units" and rep.loc[SET, "owing"] == 16


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
    assert set(s.index.get_level_values(0)) == set(NINGDE)                  # the city owes none
    assert len(s) == 12 * len(NINGDE)


def test_who_owes_a_return_follows_who_reports_what(con):
    m = Metrics(con)                      # now: the targets loaded by init are in force
    assert set(m.indicators("370800")["frequency"]) == {"季度"}               # 济宁: quarterly only
    assert m.submission_status("370800", 2024, "月度").empty
    q = m.submission_status("370800", 2024, "季度")
    assert not q.empty and set(q["status"]) == {"未报送"} and "370800" not in set(q.region_code)
    # 温岭: the yearly return is the city's own; the quarterly one is owed by the 16 镇街 and the city
    y = m.submission_status(WL, 2024, "年度")
    assert list(y.region_code) == [WL]
    assert set(m.submission_status(WL, 2024, "季度").region_code) == {WL, *TOWNS}
    # 郴州: every level reports its trainings, so 郴州市 owes a quarterly return too
    assert "431000" in set(m.submission_status("431000", 2024, "季度").region_code)
