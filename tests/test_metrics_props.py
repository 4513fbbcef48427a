"""Properties of the figures on random return sets (hypothesis), checked against the rules of
DESIGN "When a figure is due and complete" computed here from the rows themselves:
- no row is rated whose figure is incomplete; a flow is complete when every month of its
  window is in, a stock when its last month is;
- a parent is rated only when every owing unit is complete, and its figure is then
  Σnumerator / Σdenominator over them, within their rates;
- 未报送 when nothing at all, 无业务 for 0/0, and forecasts stay within possible values.
"""
from __future__ import annotations

import itertools
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
from pipelines.metrics import Metrics
from pipelines.periods import month

TOWNS = [f"331081{i:03d}" for i in range(1, 17)]
NINGDE = ["350902", "350981", "350982", "350921", "350922", "350923", "350924", "350925",
          "350926", "350900901"]
RATED = {"达标", "接近", "未达标"}
_years = itertools.count(2030)

pairs = st.one_of(st.just((0, 0)), st.integers(1, 10**5).flatmap(
    lambda den: st.tuples(st.integers(0, den), st.just(den))))
# per unit: for each of the 3 months of Q1, a pair or None (not sent)
unit_months = st.lists(st.one_of(st.none(), pairs), min_size=3, max_size=3)


def _load(con, unit_codes, indicator, data, y):
    rows = [ReturnRow(u, indicator, month(y, m + 1), num, den)
            for u, months in zip(unit_codes, data) for m, pair in enumerate(months) if pair
            for num, den in [pair]]
    if rows:
        load_rows(con, rows, SubmissionMeta("prop.xlsx", f"prop-{indicator}-{y}"))


def _check_forecast(r, share=True):
    if not math.isnan(r.forecast):
        assert 0 <= r.forecast <= (100 if share else math.inf)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(unit_months, min_size=16, max_size=16))
def test_flow_figures_are_rated_only_when_complete(con, data):
    y = next(_years)
    _load(con, TOWNS, "evoucher_settlement_rate", data, y)
    for basis in ("period", "ytd"):
        g = Metrics(con).gaps(f"{y}Q1", region="331081", basis=basis,
                              indicators=["evoucher_settlement_rate"])
        by = {r.region_code: r for r in g.itertuples()}
        complete_units = []
        for town, months in zip(TOWNS, data):
            r = by[town]
            sent = [p for p in months if p]
            complete = len(sent) == 3
            num, den = sum(p[0] for p in sent), sum(p[1] for p in sent)
            if not sent:
                assert r.status == "未报送" and math.isnan(r.actual)
            elif not complete:
                assert r.status == "数据不全" and not r.rated
                assert (r.numerator, r.denominator) == (num, den)
            elif den == 0:
                assert r.status == "无业务" and not r.rated
            else:
                assert r.status in RATED and r.actual == 100 * num / den
            if r.status in RATED:
                assert complete
            _check_forecast(r)
            if complete:
                complete_units.append((num, den))
        city = by["331081"]
        assert (city.reporters, city.expected_reporters) == (len(complete_units), 16)
        if city.status in RATED:
            assert len(complete_units) == 16
        if len(complete_units) < 16:
            assert city.status in ("数据不全", "未报送")
        num, den = sum(n for n, _ in complete_units), sum(d for _, d in complete_units)
        if complete_units and den > 0:
            assert abs(city.actual - 100 * num / den) <= 1e-9 * max(1.0, city.actual)
            rates = [100 * n / d for n, d in complete_units if d > 0]
            assert min(rates) - 1e-9 <= city.actual <= max(rates) + 1e-9
        _check_forecast(city)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(unit_months, min_size=10, max_size=10))
def test_stock_figures_need_the_last_month(con, data):
    y = next(_years)
    _load(con, NINGDE, "evoucher_activation_rate", data, y)
    g = Metrics(con).gaps(f"{y}Q1", region="350900", indicators=["evoucher_activation_rate"])
    by = {r.region_code: r for r in g.itertuples()}
    last = []
    for unit, months in zip(NINGDE, data):
        r = by[unit]
        if r.status in RATED:
            assert months[2] is not None and months[2][1] > 0
            assert r.actual == 100 * months[2][0] / months[2][1]
        if months[2] is None:
            assert r.status == ("未报送" if not any(months) else "数据不全")
        else:
            last.append(months[2])
        _check_forecast(r)
    city = by["350900"]
    if city.status in RATED:
        assert len(last) == 10
        assert city.actual == 100 * sum(n for n, _ in last) / sum(d for _, d in last)
    assert city.reporters == len(last)
