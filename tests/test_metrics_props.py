"""Property: a rolled-up rate is Σnumerator / Σdenominator and lies within the children's rates."""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.load import ReturnRow, SubmissionMeta, load_rows
from pipelines.metrics import Metrics
from pipelines.periods import month

DISTRICTS = ["350902", "350981", "350982", "350921", "350922", "350923", "350924", "350925",
             "350926", "350900901"]
pairs = st.integers(1, 10**6).flatmap(lambda den: st.tuples(st.integers(0, den), st.just(den)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(pairs, min_size=1, max_size=len(DISTRICTS)))
def test_rollup_is_ratio_of_sums(con, data):
    n = next(_months)
    p = month(2030 + n // 12, n % 12 + 1)        # a fresh month for every example
    rows = [ReturnRow(d, "evoucher_settlement_rate", p, num, den)
            for d, (num, den) in zip(DISTRICTS, data)]
    load_rows(con, rows, SubmissionMeta("prop.xlsx", f"prop-{p.code}"))
    g = Metrics(con).gaps(p, region="350900", indicators=["evoucher_settlement_rate"])
    city = g[g.is_parent].iloc[0]
    rates = [100 * num / den for num, den in data]
    expected = 100 * sum(n for n, _ in data) / sum(d for _, d in data)
    assert abs(city.actual - expected) <= 1e-9 * max(1, expected)
    assert min(rates) - 1e-9 <= city.actual <= max(rates) + 1e-9
    assert city.reporters == len(data) and city.expected_reporters == len(DISTRICTS)


_months = itertools.count()
