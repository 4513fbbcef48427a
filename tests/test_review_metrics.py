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
    # Another file, not the same bytes, whatever the clock: openpyxl stamps files to the second,
    # and two fillings of the same values within one second were one file (a duplicate).
    from openpyxl import load_workbook
    wb = load_workbook(path)
    wb.properties.title = name
    wb.save(path)
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


def test_bulletin_counts_reviewed_data_only_and_lists_what_is_pending(tmp_path):
    """The 宁德 bulletin data (tests/bulletin_data.py, all reviewed), then a pending revision of
    蕉城区's September activation (7600 → 5600 of 10 000). By hand, a stock taking September:
    reviewed only 蕉城 7600/10000 = 76.00 %, the city's 8 reporting units 55600/80000 = 69.50 %;
    with every value 蕉城 56.00 %, the city (55600 − 2000)/80000 = 53600/80000 = 67.00 %, marked."""
    import docx
    from openpyxl import load_workbook

    from bulletin_data import ACT, build_warehouse
    from pipelines.bulletin import write_bulletin
    from pipelines.bulletin.collect import collect
    from pipelines.periods import month
    from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
    path = tmp_path / "warehouse.duckdb"
    build_warehouse(path)
    con = db.connect(path)
    try:
        load_rows(con, [ReturnRow("350902", ACT, month(2024, 9), 5600, 10000)],
                  SubmissionMeta("蕉城区_9月_再更正.xlsx", "again", "蕉城区医保局", "web"),
                  now=dt.datetime(2024, 10, 14, 10, 0))

        def act(m):
            g = m.gaps("2024Q3", region=CITY)
            g = g[g["indicator_code"] == ACT].set_index("region_code")
            return (round(g.at["350902", "actual"], 2), bool(g.at["350902", "unreviewed"]),
                    round(g.at[CITY, "actual"], 2), bool(g.at[CITY, "unreviewed"]))
        assert act(Metrics(con)) == (56.0, True, 67.0, True)
        assert act(Metrics(con, reviewed_only=True)) == (76.0, False, 69.5, False)
        b = collect(Metrics(con, reviewed_only=True), "2024Q3", CITY, issue_date=dt.date(2024, 10, 15))
        section = next(s for s in b.sections if s.info.code == ACT)
        assert round(section.parent.actual, 2) == 69.5
        assert round(next(f for f in section.children if f.region_code == "350902").actual, 2) == 76.0
        assert list(b.unreviewed["file_name"]) == ["蕉城区_9月_再更正.xlsx"]

        out = write_bulletin(con, "2024Q3", region=CITY, out_dir=tmp_path / "reviewed", pdf=False,
                             issue_date=dt.date(2024, 10, 15), audit=False)
        text = "\n".join(p.text for p in docx.Document(str(out["docx"])).paragraphs)
        assert "本通报只采用经上级审核通过的数据" in text and "尚有1份报送未审核通过" in text
        assert "蕉城区_9月_再更正.xlsx（蕉城区，蕉城区医保局报送，待审核）" in text
        ws = load_workbook(out["xlsx"])["待审核报送"]
        assert [c.value for c in ws[4]][1:5] == ["蕉城区_9月_再更正.xlsx", "蕉城区", "2024-09", "蕉城区医保局"]

        con.execute("UPDATE settings SET value = 'false' WHERE key = 'bulletin.reviewed_only'")
        out = write_bulletin(con, "2024Q3", region=CITY, out_dir=tmp_path / "all", pdf=False,
                             issue_date=dt.date(2024, 10, 15), audit=False)
        text = "\n".join(p.text for p in docx.Document(str(out["docx"])).paragraphs)
        assert "本通报含未经审核的数据" in text and "蕉城区_9月_再更正.xlsx" in text
    finally:
        con.close()
