"""Review in the figures (pipelines/metrics): the `unreviewed` mark and `reviewed_only`, on a
real warehouse in tmp with real templates. Every template row is filled numerator/denominator
n/100, so each monthly figure of 蕉城区 (350902) for 2024-03 is n by hand: a count's actual is
its numerator n, a rate's n/100 × 100 % = n %."""
from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from webserver import PASSWORD, fill_template  # noqa: E402

from pipelines import db
from pipelines.accounts import users as accounts
from pipelines.metrics import Metrics, figure_table
from pipelines.returns.ingest import ingest_files
from pipelines.workflow import review

CITY, TOWN = "350900", "350902"
T0 = dt.datetime(2024, 4, 8, 9, 0)


@pytest.fixture
def people(con):
    accounts.add_user(con, "town", "reporter", PASSWORD, region=TOWN)
    accounts.add_user(con, "city", "reporter", PASSWORD, region=CITY)
    return {u.name: u for u in accounts.list_users(con)}


def _upload(con, tmp_path, n, at, name):
    path = fill_template(con, TOWN, "2024-03", tmp_path / f"{name}.xlsx", n, 100)
    out = ingest_files(con, [path], user="town", channel="web", archive_dir=tmp_path / "raw", now=at)[0]
    assert out.status == "accepted", out.line()
    return out.submission_id


def _town_rows(m: Metrics):
    """The town's own monthly figures for 2024-03: indicator -> (actual, unreviewed)."""
    g = m.gaps("2024-03", region=TOWN)
    g = g[g["is_parent"] & (g["figure_period"] == "2024-03") & (g["row_kind"] == "own")]
    assert len(g) >= 2, g[["indicator_code", "figure_period"]]
    return {r.indicator_code: (r.actual, bool(r.unreviewed)) for r in g.itertuples()}


def _all(rows, actual, unreviewed):
    for ind, (a, u) in rows.items():
        if actual is None:
            assert math.isnan(a), (ind, a)
        else:
            assert a == pytest.approx(actual), (ind, a)
        assert u is unreviewed, (ind, u)


def test_unreviewed_mark_and_reviewed_only_follow_the_decisions(con, people, tmp_path):
    s1 = _upload(con, tmp_path, 90, T0, "first")
    figure_table.refresh(con)
    # pending: the figure counts it and says so; reviewed only, there is nothing yet
    _all(_town_rows(Metrics(con)), 90, True)
    _all(_town_rows(Metrics(con, stored=False)), 90, True)
    _all(_town_rows(Metrics(con, reviewed_only=True)), None, False)

    review.decide(con, s1, people["city"], "approve", now=T0 + dt.timedelta(hours=1))
    assert figure_table.stale(con, [CITY])          # the decision marked its figures
    figure_table.refresh(con)
    _all(_town_rows(Metrics(con)), 90, False)
    _all(_town_rows(Metrics(con, reviewed_only=True)), 90, False)
    # as it stood before the decision: still unreviewed
    _all(_town_rows(Metrics(con, as_of=T0 + dt.timedelta(minutes=30))), 90, True)

    # a revision (95) pending: in force and marked; reviewed only keeps the approved 90
    s2 = _upload(con, tmp_path, 95, T0 + dt.timedelta(days=1), "revised")
    figure_table.refresh(con)
    _all(_town_rows(Metrics(con)), 95, True)
    _all(_town_rows(Metrics(con, reviewed_only=True)), 90, False)

    # returned: still in force (marked), still skipped by reviewed only
    review.decide(con, s2, people["city"], "reject", "请核实", now=T0 + dt.timedelta(days=2))
    figure_table.refresh(con)
    _all(_town_rows(Metrics(con)), 95, True)
    _all(_town_rows(Metrics(con, reviewed_only=True)), 90, False)

    # the town answers by sending the same 95 again: no new revision, but the correction
    # confirms the values; approving it approves them
    s3 = _upload(con, tmp_path, 95, T0 + dt.timedelta(days=3), "confirmed")
    assert review.get(con, s3).corrects_id == s2
    n_rows = con.execute("SELECT count(*) FROM return_values WHERE submission_id = ?", [s2]).fetchone()[0]
    assert con.execute("SELECT count(*) FROM return_values WHERE submission_id = ?", [s3]).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM value_confirmations WHERE submission_id = ?",
                       [s3]).fetchone()[0] == n_rows
    figure_table.refresh(con)
    _all(_town_rows(Metrics(con)), 95, True)
    _all(_town_rows(Metrics(con, reviewed_only=True)), 90, False)
    review.decide(con, s3, people["city"], "approve", now=T0 + dt.timedelta(days=4))
    figure_table.refresh(con)
    _all(_town_rows(Metrics(con)), 95, False)
    _all(_town_rows(Metrics(con, stored=False)), 95, False)
    _all(_town_rows(Metrics(con, reviewed_only=True)), 95, False)
    # replayed between the return and the approval: 95 marked, reviewed only 90
    before = T0 + dt.timedelta(days=3, hours=12)
    _all(_town_rows(Metrics(con, as_of=before)), 95, True)
    _all(_town_rows(Metrics(con, as_of=before, reviewed_only=True)), 90, False)


def test_series_and_rollups_carry_the_mark(con, people, tmp_path):
    _upload(con, tmp_path, 90, T0, "first")
    figure_table.refresh(con)
    m = Metrics(con)
    ind = next(iter(_town_rows(m)))
    s = m.series(TOWN, ind, "2024-02", "2024-03", "M")
    assert list(s["unreviewed"]) == [False, True]     # February: no value, no mark
    # the city's roll-up sums the complete towns: the one pending town is counted, so marked
    g = m.gaps("2024-03", region=CITY)
    city = g[g["is_parent"] & (g["indicator_code"] == ind)].iloc[0]
    assert city["row_kind"] == "rollup"
    assert city["reporters"] == 1 < city["expected_reporters"]
    assert city["numerator"] == 90 and bool(city["unreviewed"])
    other = g[~g["is_parent"] & (g["indicator_code"] == ind) & (g["region_code"] != TOWN)]
    assert len(other) and not other["unreviewed"].any()    # towns without data: no mark


def test_migration_counts_earlier_reviews_from_upload_and_sets_the_bulletin_default(con):
    assert db.first_row(con.execute("SELECT value FROM settings WHERE key = 'bulletin.reviewed_only'")) == ("true",)
