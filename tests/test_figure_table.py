"""The figures table (metrics/figure_table.py) against the engine it is maintained from.

After every kind of write — values, revisions, partial months, 0/0, a target edit on the web, a
region edit — the table answers every view exactly as the engine computing from the values
does (`Metrics(con, stored=False)`, the reference). Stale marks make readers compute until the
refresh; a crash inside a refresh leaves the marks; a frozen snapshot answers a past meeting.
"""
from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import db
from pipelines.catalog import region_sheets, target_sheets
from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
from pipelines.metrics import GAP_COLUMNS, Metrics, figure_table
from pipelines.periods import parse_period

ROOT = Path(__file__).resolve().parent.parent
NINGDE = ["350902", "350981", "350982", "350921", "350922", "350923", "350924", "350925",
          "350926", "350900901"]
TOWNS = [f"331081{i:03d}" for i in range(1, 6)]
_hashes = itertools.count()


def load(con, rows, now=None):
    tidy = [ReturnRow(r, i, parse_period(p), n, d) for r, i, p, n, d in rows]
    return load_rows(con, tidy, SubmissionMeta("t.xlsx", f"ft-{next(_hashes)}"), now=now)


def same(a: pd.DataFrame, b: pd.DataFrame, where="") -> None:
    """Equal frames: every GAP_COLUMNS cell, floats to 1e-9 relative, NaN = None = NA."""
    assert len(a) == len(b), (where, len(a), len(b))
    for col in GAP_COLUMNS:
        for i, (x, y) in enumerate(zip(a[col].tolist(), b[col].tolist())):
            def missing(v):
                return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
            if missing(x) and missing(y):
                continue
            if isinstance(x, float) and isinstance(y, float):
                assert abs(x - y) <= 1e-9 * max(1.0, abs(y)), (where, col, a.iloc[i].region_code,
                                                               a.iloc[i].indicator_code, x, y)
            else:
                assert x == y, (where, col, a.iloc[i].region_code, a.iloc[i].indicator_code, x, y)


def check(con, views, regions=("350900", None), as_of=None) -> int:
    """Table and engine agree on every view; returns how many views the table answered."""
    answered = 0
    for view, region, basis in itertools.product(views, regions, ("period", "ytd")):
        table = Metrics(con, as_of=as_of)
        got = table.gaps(view, region=region, basis=basis)
        want = Metrics(con, as_of=as_of, stored=False).gaps(view, region=region, basis=basis)
        same(got, want, (view, region, basis))
        rows, _ = table._rows_for(region)
        answered += table._stored(rows, None, [parse_period(view)], basis, None, "基本目标") is not None
    return answered


# ---------------------------------------------------------------- the property
pair = st.one_of(st.just((0, 0)), st.integers(1, 5000).flatmap(
    lambda d: st.tuples(st.integers(0, d), st.just(d))))
value_write = st.tuples(st.just("values"), st.lists(st.tuples(
    st.sampled_from(NINGDE[:4]), st.sampled_from(["evoucher_activation_rate", "evoucher_settlement_rate"]),
    st.integers(1, 12), pair), min_size=1, max_size=12))
count_write = st.tuples(st.just("count"), st.lists(st.tuples(
    st.sampled_from(NINGDE), st.integers(1, 4), st.integers(0, 9)), min_size=1, max_size=10))
target_write = st.tuples(st.just("target"), st.integers(55, 85))
region_write = st.tuples(st.just("region"), st.sampled_from(["retire", "add"]))
writes = st.lists(st.one_of(value_write, value_write, count_write, target_write, region_write),
                  min_size=1, max_size=3)


def _apply(con, write, tmp: Path) -> None:
    kind, body = write
    if kind == "values":
        load(con, [(r, i, f"2024-{m:02d}", n, d) for r, i, m, (n, d) in body])
    elif kind == "count":
        load(con, [(r, "hospital_service_stations", f"2024Q{q}", n, None) for r, q, n in body])
    elif kind == "target":                 # the bureau changes 宁德's 激活率 floor on the web
        path = tmp / f"plan{next(_hashes)}.xlsx"
        target_sheets.write_plan_sheet(con, "ningde-2022", path)
        wb = openpyxl.load_workbook(path)
        for row in wb["目标"].iter_rows(min_row=2):
            if row[0].value == "evoucher_activation_rate":
                row[6].value = body
        wb.save(path)
        target_sheets.apply_plan(con, target_sheets.read_plan_workbook(con, path), "admin")
    else:                                  # a unit retired, or a new one added, on the web
        path = tmp / f"regions{next(_hashes)}.xlsx"
        region_sheets.write_region_sheet(con, path)
        regions = region_sheets.read_region_workbook(path)
        if body == "retire":
            regions = [r for r in regions if r.code != "350926"]
        elif not any(r.code == "350900909" for r in regions):
            regions.append(next(r for r in regions if r.code == "350902").model_copy(
                update={"code": "350900909", "name": "测试新区", "aliases": (), "sort_order": 999}))
        region_sheets.apply_regions(con, regions, "admin")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=writes)
def test_the_table_equals_the_engine_after_every_kind_of_write(con, tmp_path, steps):
    for step in steps:
        _apply(con, step, tmp_path)
        figure_table.refresh(con)
        assert not figure_table.stale(con, ["350900"])
        assert check(con, ["2024Q1", "2024-03", "2024"]) > 0


# ---------------------------------------------------------------- marks, crashes, snapshots
def test_a_write_marks_its_figures_stale_until_the_refresh(con):
    load(con, [(d, "evoucher_activation_rate", "2024-03", 70 + k, 100) for k, d in enumerate(NINGDE)])
    assert figure_table.stale(con, ["350900"], ["evoucher_activation_rate"])
    assert not figure_table.stale(con, ["331081"])
    assert check(con, ["2024Q1"]) == 0        # 宁德 (and the roots view, which holds it) computes
    stats = figure_table.refresh(con)
    assert stats["jurisdictions"] == 1 and stats["rows"] > 0
    assert not figure_table.stale(con, ["350900"])
    assert check(con, ["2024Q1", "2024-03"]) == 8                   # now every view reads the table
    g = Metrics(con).gaps("2024Q1", region="350900")
    city = g[g.is_parent & (g.indicator_code == "evoucher_activation_rate")].iloc[0]
    assert city.actual == pytest.approx(100 * (700 + 45) / 1000) and city.status == "达标"


def test_a_load_committed_beside_a_refresh_keeps_its_marks(con, monkeypatch):
    """The server lets uploads load while the refresh runs (dashboards/store.py): a revision
    committed on another cursor in the middle of a refresh keeps its marks, so its figures are
    computed from the values until the next refresh, which then stores them."""
    load(con, [(d, "evoucher_activation_rate", "2024-03", 70 + k, 100) for k, d in enumerate(NINGDE)])
    beside = con.cursor()
    inner = figure_table._passes

    def passes_with_a_load_beside(*args, **kwargs):
        load(beside, [("350902", "evoucher_activation_rate", "2024-03", 90, 100)])   # commits now
        return inner(*args, **kwargs)
    monkeypatch.setattr(figure_table, "_passes", passes_with_a_load_beside)
    stats = figure_table.refresh(con)
    monkeypatch.undo()
    assert stats["jurisdictions"] == 1 and stats["rows"] > 0
    assert figure_table.stale(con, ["350900"], ["evoucher_activation_rate"])    # the load's marks
    assert check(con, ["2024Q1", "2024-03"]) == 0                               # computed, and right

    def city():
        g = Metrics(con).gaps("2024Q1", region="350900")
        return g[g.is_parent & (g.indicator_code == "evoucher_activation_rate")].iloc[0].actual
    assert city() == pytest.approx(100 * (745 - 70 + 90) / 1000)                 # 76.5, the revision in
    figure_table.refresh(con)
    assert not figure_table.stale(con, ["350900"])
    assert check(con, ["2024Q1", "2024-03"]) == 8
    assert city() == pytest.approx(76.5)
    beside.close()


def test_ingest_refreshes_and_the_upload_is_read_from_the_table(con, tmp_path):
    import returns_factory as rf
    from pipelines.returns.ingest import ingest_files
    names = dict(con.execute("SELECT code, name FROM regions").fetchall())
    path = rf.long_table(tmp_path / "q.xlsx", [(names[d], "2024Q2", "医院医保服务站个数", 2, None) for d in NINGDE])
    [out] = ingest_files(con, [path], archive_dir=tmp_path / "raw", today=dt.date(2025, 6, 1))
    assert out.status == "accepted", out.line()
    assert not figure_table.stale(con, ["350900"])
    m = Metrics(con)
    rows, parent = m._rows_for("350900")
    stored = m._stored(rows, parent, [parse_period("2024Q2")], "period", None, "基本目标")
    assert stored is not None
    city = next(r for r in stored if r["region_code"] == "350900" and r["indicator_code"] == "hospital_service_stations")
    # 10 units × 2 = 20; the 2022 floor of 19 stands
    assert (city["actual"], city["expected"], city["status"]) == (20, 19, "达标")


def test_a_crash_inside_a_refresh_leaves_the_marks(warehouse_path):
    con = db.connect(warehouse_path)
    load(con, [(d, "evoucher_settlement_rate", f"2024-{m:02d}", 30, 100) for d in NINGDE for m in range(1, 13)])
    con.close()
    code = ("import sys, time\n"
            "from pipelines import db\n"
            "from pipelines.metrics import figure_table\n"
            "con = db.connect(sys.argv[1])\n"
            "orig = figure_table._passes\n"
            "def slow(*a, **k):\n"
            "    print('inside', flush=True); time.sleep(30); return orig(*a, **k)\n"
            "figure_table._passes = slow\n"
            "figure_table.refresh(con)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(warehouse_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "inside"        # rows written, not committed
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    con = db.connect(warehouse_path)
    try:
        assert figure_table.stale(con, ["350900"])              # nothing half-refreshed is read
        assert check(con, ["2024Q3"], regions=("350900",)) == 0
        figure_table.refresh(con)
        assert check(con, ["2024Q3", "2024"], regions=("350900",)) == 4
    finally:
        con.close()


def test_a_frozen_meeting_is_read_from_its_snapshot(con):
    t1, t2 = dt.datetime(2024, 4, 20, 9), dt.datetime(2024, 5, 20, 9)
    load(con, [(d, "evoucher_activation_rate", "2024-03", 66, 100) for d in NINGDE], now=t1)
    load(con, [(d, "evoucher_activation_rate", "2024-03", 72, 100) for d in NINGDE], now=t2)
    figure_table.refresh(con)
    meeting = dt.datetime(2024, 5, 1, 15)
    assert check(con, ["2024Q1"], as_of=meeting) == 0            # no snapshot yet: computed
    figure_table.freeze(con, meeting)
    assert check(con, ["2024Q1", "2024-03"], as_of=meeting) == 8
    g = Metrics(con, as_of=meeting).gaps("2024Q1", region="350900")
    city = g[g.is_parent & (g.indicator_code == "evoucher_activation_rate")].iloc[0]
    assert (city.actual, city.status) == (66, "未达标")            # as it stood at the meeting
    assert Metrics(con).gaps("2024Q1", region="350900").query(
        "is_parent and indicator_code == 'evoucher_activation_rate'").iloc[0].actual == 72


def test_refresh_command_rebuilds(warehouse_path):
    proc = subprocess.run([sys.executable, "-m", "pipelines", "refresh", "--db", str(warehouse_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "指标结果表已重新计算：5 个辖区" in proc.stdout
    missing = subprocess.run([sys.executable, "-m", "pipelines", "refresh", "--db",
                              str(warehouse_path.parent / "nope.duckdb")], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "不存在" in missing.stderr and "Traceback" not in missing.stderr
    assert not (warehouse_path.parent / "nope.duckdb").exists()
