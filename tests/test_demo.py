"""`python -m pipelines demo`: realistic, deterministic 示例数据 written as .xlsx and ingested.

The demo is built once per session (fixture `demo_warehouse`, read-only here); the checks read
the real warehouse, the real workbooks and the generator's own numbers.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipelines import db
from pipelines.demo.build import write_filled_template, write_long_table
from pipelines.demo.schedule import due_date, plan_uploads
from pipelines.demo.values import DemoModel, generate, values_for

ROOT = Path(__file__).resolve().parent.parent
JURISDICTIONS = ("331081", "350900", "350102", "431000", "370800")


@pytest.fixture(scope="module")
def demo_con(demo_warehouse):
    con = db.connect(demo_warehouse, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def stats(demo_warehouse) -> dict:
    return json.loads((demo_warehouse.parent / "demo_stats.json").read_text(encoding="utf-8"))


def test_build_is_fast_and_clean(stats):
    assert stats["skipped"] is False
    assert stats["accepted"] == stats["files"] and stats["duplicates"] == 0
    assert stats["templates"] > 100 and stats["long_tables"] > 100
    assert stats["seconds"] < 120, stats          # budget ~60 s on an idle 2-core machine
    print(f"demo build: {stats}")


def test_every_jurisdiction_and_district_has_values_2022_to_2025(demo_con):
    for jur in JURISDICTIONS:
        years = {y for (y,) in demo_con.execute(
            "SELECT DISTINCT v.year FROM return_values v JOIN regions r ON r.code = v.region_code "
            "WHERE r.jurisdiction_code = ?", [jur]).fetchall()}
        assert years == {2022, 2023, 2024, 2025}, jur
        children = {c for (c,) in demo_con.execute(
            "SELECT code FROM regions WHERE parent_code = ?", [jur]).fetchall()}
        reporting = {c for (c,) in demo_con.execute(
            "SELECT DISTINCT region_code FROM return_values v JOIN regions r ON r.code = v.region_code "
            "WHERE r.jurisdiction_code = ?", [jur]).fetchall()}
        own = demo_con.execute("SELECT count(*) FROM reporting WHERE jurisdiction_code = ? "
                               "AND reported_by IN ('self', 'every_level')", [jur]).fetchone()[0]
        # every district; the jurisdiction itself only where it reports something itself
        assert reporting == children | ({jur} if own else set()), jur
        # and only what it owes: a city's own rows are for its self / every-level indicators
        city_rows = {i for (i,) in demo_con.execute(
            "SELECT DISTINCT indicator_code FROM return_values WHERE region_code = ?", [jur]).fetchall()}
        owes = {i for (i,) in demo_con.execute(
            "SELECT indicator_code FROM reporting WHERE jurisdiction_code = ? "
            "AND reported_by IN ('self', 'every_level')", [jur]).fetchall()}
        assert city_rows <= owes, jur


def test_loaded_values_are_the_generated_ones(demo_con):
    model = DemoModel.from_warehouse(demo_con)
    wanted = {(v.region_code, v.indicator_code, v.period.code): (v.numerator, v.denominator)
              for v in generate(model)}
    current = {(r, i, p): (n, d) for r, i, p, n, d in demo_con.execute(
        "SELECT region_code, indicator_code, period, numerator, denominator FROM return_values "
        "WHERE superseded_at IS NULL").fetchall()}
    assert set(current) <= set(wanted)
    missing = set(wanted) - set(current)
    assert 0 < len(missing) < 0.02 * len(wanted)          # a few returns never arrived
    for key, (num, den) in current.items():
        assert (num, den) == wanted[key]


def test_numbers_are_plausible(demo_con):
    # Whole numbers >= 0; shares never above 100 %; denominators > 0.
    bad = demo_con.execute(
        "SELECT count(*) FROM return_values v JOIN indicators i ON i.code = v.indicator_code "
        "WHERE v.numerator < 0 OR v.numerator <> floor(v.numerator) "
        "OR (i.kind <> 'count' AND (v.denominator IS NULL OR v.denominator < 0 "
        "                           OR (v.denominator = 0 AND v.numerator <> 0))) "
        "OR (i.kind = 'count' AND v.denominator IS NOT NULL) "
        "OR (i.is_share AND v.numerator > v.denominator)").fetchone()[0]
    assert bad == 0
    # 0/0 only where the demo means a quarter with no business (status 无业务)
    from pipelines.demo.values import NO_BUSINESS
    zero = {tuple(r) for r in demo_con.execute(
        "SELECT region_code, indicator_code, period FROM return_values WHERE denominator = 0").fetchall()}
    assert zero == NO_BUSINESS
    # 参保人数 of a 宁德 county in the hundreds of thousands; a 鼓楼 street about a tenth of that.
    county = demo_con.execute("SELECT denominator FROM return_values WHERE region_code = '350981' "
                              "AND indicator_code = 'evoucher_activation_rate' AND period = '2024-06'").fetchone()[0]
    street = demo_con.execute("SELECT denominator FROM return_values WHERE region_code = '350102001' "
                              "AND indicator_code = 'evoucher_activation_rate' AND period = '2024-06'").fetchone()[0]
    assert 100_000 <= county <= 1_000_000 and 10_000 <= street <= 100_000
    # 结算笔数 of a county: tens of thousands a month.
    settle = demo_con.execute("SELECT denominator FROM return_values WHERE region_code = '350902' "
                              "AND indicator_code = 'evoucher_settlement_rate' AND period = '2024-06'").fetchone()[0]
    assert 10_000 <= settle <= 200_000


def test_rates_head_for_their_targets(demo_con):
    # 宁德 e-voucher activation, summed over its districts (stock: December's pair).
    def city_rate(period):
        num, den = demo_con.execute(
            "SELECT sum(numerator), sum(denominator) FROM return_values v JOIN regions r "
            "ON r.code = v.region_code WHERE r.parent_code = '350900' AND v.superseded_at IS NULL "
            "AND v.indicator_code = 'evoucher_activation_rate' AND v.period = ?", [period]).fetchone()
        return 100 * num / den
    assert city_rate("2022-01") < 65 < 70 <= city_rate("2022-12") < city_rate("2025-12")


def test_some_districts_stay_behind(demo_con):
    from pipelines.metrics import Metrics
    m = Metrics(demo_con)
    streaks = 0
    for jur in ("350900", "350102", "431000"):
        gaps = m.gaps("2023Q2", region=jur)
        children = gaps[~gaps.is_parent]
        assert (children.status == "达标").sum() > (children.status == "未达标").sum()
        streaks += int(((children.status == "未达标") & (children.streak >= 2)).sum())
    assert streaks >= 3                                    # 连续两个季度未达标 exists


def test_files_are_real_workbooks_marked_as_demo(demo_warehouse, demo_con, stats):
    raw = demo_warehouse.parent / "raw" / "demo"
    files = sorted(raw.glob("*.xlsx"))
    assert len(files) == stats["files"]
    assert all(f.name.startswith("示例数据_") for f in files)
    for f in (files[0], files[len(files) // 2], files[-1]):
        wb = load_workbook(f)
        assert "示例数据" in wb.properties.title
        visible = [ws for ws in wb.worksheets if ws.sheet_state == "visible"]
        text = " ".join(str(c.value) for ws in visible for row in ws.iter_rows(max_row=3) for c in row
                        if c.value is not None)
        assert "示例数据" in text
    rows = demo_con.execute("SELECT DISTINCT channel, uploaded_by, status FROM submissions").fetchall()
    assert rows == [("demo", "示例数据", "accepted")]
    layouts = dict(demo_con.execute("SELECT layout, count(*) FROM submissions GROUP BY 1").fetchall())
    assert layouts["template"] == stats["templates"] and layouts["long"] == stats["long_tables"]
    # Every submission archived by content hash under <db dir>/raw/.
    for (archive,) in demo_con.execute("SELECT archive_path FROM submissions LIMIT 20").fetchall():
        assert Path(archive).is_file() and Path(archive).parent.parent == demo_warehouse.parent / "raw"


def test_a_value_traces_back_to_its_cell(demo_warehouse, demo_con):
    file_name, sheet, num_cell, den_cell, num, den = demo_con.execute(
        "SELECT l.file_name, l.sheet, l.numerator_cell, l.denominator_cell, v.numerator, v.denominator "
        "FROM return_values v JOIN value_lineage l USING (value_id) "
        "WHERE v.region_code = '350981' AND v.indicator_code = 'evoucher_activation_rate' "
        "AND v.period = '2023-06' AND v.superseded_at IS NULL").fetchone()
    ws = load_workbook(demo_warehouse.parent / "raw" / "demo" / file_name)[sheet]

    def number(cell):
        value = ws[cell].value
        return float(str(value).replace(",", "")) if value is not None else None
    assert (number(num_cell), number(den_cell)) == (num, den)


def test_corrected_resubmissions_supersede(demo_con):
    model = DemoModel.from_warehouse(demo_con)
    revised = demo_con.execute(
        "SELECT old.region_code, old.indicator_code, old.period, old.numerator, old.denominator, "
        "new.numerator, new.denominator, s_old.file_name, s_new.file_name, s_new.uploaded_at - s_old.uploaded_at "
        "FROM return_values old JOIN return_values new ON new.value_id = old.superseded_by "
        "JOIN submissions s_old ON s_old.submission_id = old.submission_id "
        "JOIN submissions s_new ON s_new.submission_id = new.submission_id").fetchall()
    assert len(revised) >= 10
    for reg, ind, period, o_num, o_den, n_num, n_den, o_file, n_file, delay in revised:
        assert (o_num, o_den) != (n_num, n_den)
        assert "更正" in n_file and "更正" not in o_file
        assert 14 <= delay.days <= 45                          # corrections come weeks later
        right = values_for(model, reg, period)[ind]
        assert (n_num, n_den) == (right.numerator, right.denominator)


def test_most_returns_on_time_some_late(demo_con):
    from pipelines.periods import parse_period
    frequency = {"M": "月度", "Q": "季度", "Y": "年度"}
    late = on_time = 0
    for file_name, uploaded_at, periods in demo_con.execute(
            "SELECT file_name, uploaded_at, periods FROM submissions "
            "WHERE file_name NOT LIKE '%更正%'").fetchall():
        due = min(due_date(p, frequency[p.type]) for p in map(parse_period, periods))
        if uploaded_at.date() > due:
            late += 1
            assert "补报" in file_name
        else:
            on_time += 1
    assert late >= 10 and on_time > 5 * late
    # A 2023-03 monthly return is due on 2023-04-10.
    assert due_date(parse_period("2023-03"), "月度").isoformat() == "2023-04-10"
    assert due_date(parse_period("2023Q4"), "季度").isoformat() == "2024-01-15"


def test_generator_is_deterministic(demo_con, warehouse_path):
    first = generate(DemoModel.from_warehouse(demo_con))
    fresh = db.connect(warehouse_path, read_only=True)      # another warehouse, same targets/
    try:
        second = generate(DemoModel.from_warehouse(fresh))
    finally:
        fresh.close()
    assert first == second
    v = values_for(DemoModel.from_warehouse(demo_con), "331081001", "2024Q2")
    assert set(v) >= {"online_completion_rate", "inpatient_cross_province_rate"}


def test_workbooks_are_byte_reproducible(demo_con, tmp_path):
    model = DemoModel.from_warehouse(demo_con)
    uploads = plan_uploads(model, generate(model, ["350900"]))
    template = next(u for u in uploads if u.layout == "template")
    table = next(u for u in uploads if u.layout == "long")
    for name, write, arg in (("t", write_filled_template, demo_con), ("l", write_long_table, model)):
        upload = template if name == "t" else table
        write(arg, upload, tmp_path / f"{name}1.xlsx")
        write(arg, upload, tmp_path / f"{name}2.xlsx")
        assert (tmp_path / f"{name}1.xlsx").read_bytes() == (tmp_path / f"{name}2.xlsx").read_bytes()


def test_if_empty_changes_nothing(demo_warehouse, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse, copy)

    def counts():
        con = db.connect(copy, read_only=True)
        try:
            return con.execute("SELECT (SELECT count(*) FROM submissions), (SELECT count(*) FROM "
                               "return_values), (SELECT max(loaded_at) FROM return_values)").fetchone()
        finally:
            con.close()
    before = counts()
    run = subprocess.run([sys.executable, "-m", "pipelines", "demo", "--db", str(copy), "--if-empty"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "未生成示例数据" in run.stdout
    assert counts() == before
    assert not (tmp_path / "raw").exists()


@pytest.mark.parametrize("view", ["2024Q2", "2025Q4"])
def test_nothing_is_rated_wrongly_on_the_demo(demo_con, view):
    """Every overview row of every jurisdiction, held against the rules written out plainly in
    tests/rules.py (not against the engine's own output)."""
    import math

    from rules import Rules

    from pipelines.metrics import Metrics
    from pipelines.periods import parse_period
    m, p = Metrics(demo_con), parse_period(view)
    for jur in JURISDICTIONS:
        rules = Rules(demo_con, jur)
        gaps = m.gaps(view, region=jur)
        rows = {(r.region_code, r.indicator_code): r for r in gaps.itertuples()}
        for code in [jur, *rules.children.get(jur, [])]:
            for ind in set(gaps.indicator_code):
                assert ((code, ind) in rows) == bool(rules.members(code, ind)), (code, ind)
        for (code, ind), r in rows.items():
            want = rules.expect(code, ind, p)
            where = (view, code, ind, want, r.status, r.actual)
            assert r.status == want["status"], where
            if want["status"] == "未到期":
                assert math.isnan(r.actual) and r.figure_period is None, where
                continue
            assert (r.figure_period, r.judged_on) == (want["figure_period"], want["judged_on"]), where
            if want.get("actual") is not None:
                assert r.actual == pytest.approx(want["actual"], rel=1e-12), where
            if want["target"] is None:
                assert math.isnan(r.target), where
            else:
                assert r.target == want["target"], where
            if "expected" in want:
                assert r.expected == pytest.approx(want["expected"], rel=1e-12), where
            assert r.rated == (r.status in ("达标", "接近", "未达标")), where
            if not r.rated:
                assert math.isnan(r.gap) and math.isnan(r.rank), where


def test_the_demo_shows_every_status(demo_con):
    from pipelines.metrics import Metrics
    m = Metrics(demo_con)
    seen = set()
    for view in ("2024Q2", "2025Q4"):
        for jur in JURISDICTIONS:
            seen |= set(m.gaps(view, region=jur).status)
    assert seen == {"达标", "接近", "未达标", "未报送", "数据不全", "无业务", "未到期", "无目标"}
    # 郴州's yearly-count target on trainings is met mid-year somewhere (judged on the year to date)
    g = m.gaps("2024Q2", region="431000")
    t = g[g.indicator_code == "training_sessions"]
    assert set(t.judged_on) == {"ytd"} and ((t.status == "达标") & (t.actual >= 2)).any()


def test_a_meeting_replayed_as_of_july_2024_shows_what_it_knew(demo_con):
    import datetime as dt

    from pipelines.metrics import Metrics
    meeting = dt.datetime(2024, 7, 5, 15, 0)        # before every 2024Q2 return had come in
    then, now = Metrics(demo_con, as_of=meeting), Metrics(demo_con)
    changed = 0
    for jur in JURISDICTIONS:
        g = then.gaps("2024Q2", region=jur)
        assert g.loc[g.status != "未到期", "target"].notna().any(), jur      # targets in force then
        assert then.data_as_of(jur) <= meeting
        before = g.set_index(["region_code", "indicator_code"]).status
        after = now.gaps("2024Q2", region=jur).set_index(["region_code", "indicator_code"]).status
        changed += int(((before == "未报送") & after.isin(["达标", "接近", "未达标"])).sum())
        for r in g[g.actual.notna() & ~g.is_parent].head(5).itertuples():
            prov = then.provenance(r.region_code, r.indicator_code, "2024Q2", r.judged_on)
            assert (prov.loaded_at <= meeting).all() and prov.is_current.any()
    city = then.gaps("2024Q2", region="331081").set_index(["region_code", "indicator_code"])
    assert city.loc[("331081", "online_completion_rate"), "target"] == 90   # known since 2023-08-30
    assert changed > 0          # returns that arrived after the meeting are not in its replay
