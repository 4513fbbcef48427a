"""报送率 on a real warehouse: a year of 宁德市's monthly returns with on-time, late, corrected,
missing, early and not-yet-due returns; every count and rate below is worked out by hand.

宁德市 has ten units (who reports what: its monthly indicators are reported by the units, the
city owes none); monthly returns are due on the 10th of the next month (settings due_day.月度).
The view is as of 2024-06-20: January–May are due, June (due 2024-07-10) to December are not.

- 蕉城区: January–May each in on the 5th of the next month → 5 owed, 5 on time;
- 福安市: January in at 18:00 on its due day (on time), February on 15 March (late), March on
  time then corrected (still on time), April never, May on 12 June (late), June early on
  18 June → owed 5, received 4, on time 2, late 2, missing 1, not due 7 of which 1 early;
- the 8 other units: nothing → 5 missing and 7 not due each;
- 宁德市 itself sends a January figure on time: it owes no monthly return, so it counts nowhere.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
from pipelines.metrics import Metrics
from pipelines.periods import parse_period

ROOT = Path(__file__).resolve().parent.parent
SET = "evoucher_settlement_rate"
CITY, JIAOCHENG, FUAN = "350900", "350902", "350981"
AS_OF = dt.datetime(2024, 6, 20, 12)
_n = itertools.count()


def _load(con, region, period, when, numerator=10):
    load_rows(con, [ReturnRow(region, SET, parse_period(period), numerator, 100)],
              SubmissionMeta("rr.xlsx", f"rr-{next(_n)}"), now=when)


def _year_of_returns(con):
    for mo in range(1, 6):
        _load(con, JIAOCHENG, f"2024-{mo:02d}", dt.datetime(2024, mo + 1, 5, 9))
    _load(con, FUAN, "2024-01", dt.datetime(2024, 2, 10, 18))        # on its due day: on time
    _load(con, FUAN, "2024-02", dt.datetime(2024, 3, 15, 9))         # late
    _load(con, FUAN, "2024-03", dt.datetime(2024, 4, 8, 9))          # on time ...
    _load(con, FUAN, "2024-03", dt.datetime(2024, 4, 20, 9), 12)     # ... then corrected
    _load(con, FUAN, "2024-05", dt.datetime(2024, 6, 12, 9))         # late
    _load(con, FUAN, "2024-06", dt.datetime(2024, 6, 18, 9))         # early (due 2024-07-10)
    _load(con, CITY, "2024-01", dt.datetime(2024, 2, 3, 9))          # owes none: not counted


@pytest.fixture
def rr(con):
    _year_of_returns(con)
    return Metrics(con, as_of=AS_OF).reporting_rate(CITY, 2024, "月度")


def test_year_region_and_period_counts_and_rates(rr):
    # the year: 10 units × 12 months = 120 returns; 5 due months × 10 = 50 owed
    t = rr.total
    assert (t["owed"], t["received"], t["on_time"], t["late"], t["missing"], t["not_due"],
            t["early"]) == (50, 9, 7, 2, 41, 70, 1)
    assert t["completeness"] == pytest.approx(18.0)          # 9 / 50
    assert t["timeliness"] == pytest.approx(14.0)            # 7 / 50
    assert t["late_rate"] == pytest.approx(4.0) and t["missing_rate"] == pytest.approx(82.0)

    regions = rr.regions.set_index("region_code")
    assert CITY not in regions.index and len(regions) == 10
    j, f, other = regions.loc[JIAOCHENG], regions.loc[FUAN], regions.loc["350982"]
    assert (j.owed, j.received, j.on_time, j.late, j.missing, j.not_due) == (5, 5, 5, 0, 0, 7)
    assert (j.completeness, j.timeliness) == (100.0, 100.0)
    assert (f.owed, f.received, f.on_time, f.late, f.missing, f.not_due, f.early) == (5, 4, 2, 2, 1, 7, 1)
    assert f.completeness == pytest.approx(80.0) and f.timeliness == pytest.approx(40.0)
    assert (other.owed, other.received, other.missing, other.completeness) == (5, 0, 5, 0.0)

    periods = rr.periods.set_index("period")
    assert list(periods.index) == [f"2024-{mo:02d}" for mo in range(1, 13)]
    expect = {  # period: (received, on time, late, missing) of 10 owed
        "2024-01": (2, 2, 0, 8), "2024-02": (2, 1, 1, 8), "2024-03": (2, 2, 0, 8),
        "2024-04": (1, 1, 0, 9), "2024-05": (2, 1, 1, 8)}
    for period, (rec, on_time, late, missing) in expect.items():
        p = periods.loc[period]
        assert (p.owed, p.received, p.on_time, p.late, p.missing) == (10, rec, on_time, late, missing), period
        assert p.completeness == pytest.approx(10.0 * rec) and p.timeliness == pytest.approx(10.0 * on_time)
    june = periods.loc["2024-06"]
    assert (june.owed, june.not_due, june.early) == (0, 10, 1)
    assert june.completeness is None or june.completeness != june.completeness      # no rate yet
    assert str(periods.loc["2024-06", "due_date"]) == "2024-07-10"
    # January to March only (a first-quarter bulletin's year so far): 30 owed; received
    # 2 + 2 + 2 = 6, on time 2 + 1 + 2 = 5 → 20 % and 16.67 %
    q1 = rr.through(["2024-01", "2024-02", "2024-03"])
    assert (q1["owed"], q1["received"], q1["on_time"], q1["late"], q1["missing"]) == (30, 6, 5, 1, 24)
    assert q1["completeness"] == pytest.approx(20.0) and q1["timeliness"] == pytest.approx(100 * 5 / 30)


def test_the_bulletin_reports_the_year_so_far(rr):
    from pipelines.bulletin.model import SubmissionSummary
    from pipelines.bulletin.text import _year_rate
    months = [f"2024-{mo:02d}" for mo in range(1, 6)]
    summary = SubmissionSummary("月报", months, {}, {}, None, rr.through(months))
    # 50 owed, 9 received, 7 on time (the hand count above)
    assert _year_rate(summary) == "1—5月累计应报月报50份，报送率18.0%，及时率14.0%。"
    assert _year_rate(SubmissionSummary("月报", months, {}, {}, None, rr.through(["2024-06"]))) == ""


def test_the_rate_moves_with_the_moment_it_is_read(con):
    _year_of_returns(con)
    # On 2024-02-11 only January is due: 蕉城区 and 福安市 of 10 → 20 %, both on time.
    early = Metrics(con, as_of=dt.datetime(2024, 2, 11)).reporting_rate(CITY, 2024, "月度").total
    assert (early["owed"], early["received"], early["on_time"]) == (10, 2, 2)
    assert early["completeness"] == pytest.approx(20.0)
    # A year that has nothing owed yet has no rates, only counts.
    none = Metrics(con, as_of=dt.datetime(2024, 1, 5)).reporting_rate(CITY, 2024, "月度").total
    assert none["owed"] == 0 and none["not_due"] == 120 and none["completeness"] is None


def test_reporting_rate_cli_json_and_csv(con, warehouse_path):
    _year_of_returns(con)
    con.close()
    cmd = [sys.executable, "-m", "pipelines", "reporting-rate", "--db", str(warehouse_path),
           "--region", "宁德市", "--year", "2024", "--as-of", "2024-06-20T12:00:00"]
    out = subprocess.run(cmd + ["--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["total"]["completeness"] == 18.0 and body["total"]["timeliness"] == 14.0
    fuan = next(r for r in body["regions"] if r["region_code"] == FUAN)
    assert (fuan["owed"], fuan["late"], fuan["completeness"]) == (5, 2, 80.0)
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("region_code,region_name,owed,received,on_time")
    assert any(line.startswith(f"{FUAN},福安市,5,4,2,2,1,7,1,80.0,40.0") for line in lines)
    assert lines[-1].startswith(f"{CITY},宁德市（合计）,50,9,7,2,41,70,1,18.0,14.0")
    bad = subprocess.run(cmd[:-2] + ["--frequency", "每周"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "每周" in bad.stderr and "月度" in bad.stderr, bad.stderr


def test_submissions_page_shows_the_rates_it_is_given(con, warehouse_path):
    """The 报送 page renders Metrics.reporting_rate: the year's rates, the trend, the table."""
    import sys

    from dashboard_data import create_app
    from pipelines.workflow import contacts
    _year_of_returns(con)
    contacts.apply_contacts(con, [{"region_code": "350982", "contact": "张三", "phone": "0593-7851234",
                                   "email": None}], "admin")
    con.close()
    app = create_app(warehouse_path)
    try:
        with app.server.test_request_context():
            page = sys.modules["dashboards.pages.submissions"].layout(
                rendering="page", jurisdiction=CITY, period="2024Q2", frequency="月度",
                as_of="2024-06-20T12:00:00")
        text = str(page)
        assert "2024年月度报表报送率" in text
        assert "18.0%" in text and "已报 9 / 应报 50" in text and "按时报 7 / 应报 50" in text
        assert "80.0%" in text and "40.0%" in text               # 福安市's row
        assert "submissions-rate-chart" in text and "submissions-rate-table" in text
        assert "催报清单（41 项未报送）" in text and "张三" in text and "0593-7851234" in text
        assert "未登记" in text                                   # the units without a contact
    finally:
        import threading
        for t in threading.enumerate():          # the replayed moment's snapshot, built aside
            if t.name == "freeze-snapshot":
                t.join(timeout=60)
        app.server.config["WAREHOUSE"].close()
