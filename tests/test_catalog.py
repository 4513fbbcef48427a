"""targets/ encodes the seed plans faithfully; init loads, validates, versions them."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines import db
from pipelines.catalog.definitions import TARGETS_DIR, CatalogError, read_catalog
from pipelines.warehouse import init_warehouse

ROOT = Path(__file__).resolve().parent.parent

# 温岭 附件1 试点指标目标清单, as printed in seed 004 (2022 baseline, 2023, 2024, 2025).
WENLING_TABLE = {
    "cross_city_offline_items": (None, 28, 28, 28),
    "town_demo_sites": (None, 3, 7, 7),
    "village_demo_sites": (None, 30, 60, 60),
    "online_availability_rate": (100, 100, 100, 100),
    "online_completion_rate": (80, 85, 90, 95),
    "remote_care_facility_rate": (47, 95, 100, 100),
    "inpatient_cross_province_rate": (None, 80, 81, 82),
    "maternity_in_province_rate": (None, 80, 83, 85),
    "chronic_cross_province_facilities": (None, 15, 25, 25),
    "evoucher_settlement_rate": (42, 43, 45, 50),
    "mobile_payment_hospitals": (None, 7, 7, 7),
    "internet_medical_institutions": (None, 2, 2, 2),
}
WENLING_FREQUENCY = {
    "cross_city_offline_items": "年度", "town_demo_sites": "年度", "village_demo_sites": "年度",
    "evoucher_settlement_rate": "月度",
}


def _rows(con, sql, params=None):
    return con.execute(sql, params or []).fetchall()


def test_wenling_targets_and_baselines_equal_the_seed_table(con):
    targets = {(ind, y): v for ind, y, v in _rows(con, """
        SELECT indicator_code, year_from, value FROM targets
        WHERE plan_code = 'wenling-2023' AND region_code = '331081' AND valid_to IS NULL
          AND timing = 'year' AND comparator = '>='""")}
    baselines = {ind: v for ind, v in _rows(con, """
        SELECT indicator_code, value FROM baselines
        WHERE plan_code = 'wenling-2023' AND period = '2022' AND valid_to IS NULL""")}
    expected_targets = {(ind, y): float(v) for ind, row in WENLING_TABLE.items()
                        for y, v in zip((2023, 2024, 2025), row[1:])}
    assert targets == expected_targets
    assert baselines == {ind: float(row[0]) for ind, row in WENLING_TABLE.items() if row[0] is not None}
    freqs = dict(_rows(con, "SELECT code, frequency FROM indicators"))
    for ind in WENLING_TABLE:
        assert freqs[ind] == WENLING_FREQUENCY.get(ind, "季度"), ind


@pytest.mark.parametrize("plan, doc_number, jurisdiction, expected", [
    ("ningde-2022", "宁政办规〔2022〕8号", "350900", [
        ("evoucher_activation_rate", "350900", ">=", 70.0, "2022-12-31"),
        ("full_online_items_rate", "350900", ">=", 80.0, "2022-12-31"),
        ("better_than_province_items_rate", "350900", ">=", 30.0, "2022-12-31"),
        ("town_window_rate", "350900", ">=", 100.0, "2022-10-31"),
        ("hospital_service_stations", "350900", ">=", 19.0, "2022-12-31"),
    ]),
    ("gulou-2022", None, "350102", [
        ("town_window_rate", "350102", ">=", 100.0, "2022-09-30"),
        ("village_coordinator_rate", "350102", ">=", 100.0, "2022-09-30"),
        ("standard_window_rate", "350102", ">=", 100.0, "2022-12-31"),
        ("remote_care_facility_rate", "350102", ">=", 100.0, "2022-12-31"),
        ("evoucher_activation_rate", "350102", ">=", 70.0, "2022-12-31"),
        ("demo_windows", "350102", ">=", 1.0, "2025-12-31"),
        ("smart_demo_sites", "350102", ">=", 1.0, "2025-12-31"),
    ]),
    ("chenzhou-2022", "郴政办函〔2022〕132号", "431000", [
        ("service_point_rate", "431000", ">=", 100.0, "2022-11-30"),
        ("village_clinic_settlement_rate", "431000", ">=", 100.0, "2022-11-30"),
        ("delegated_items_rate", "431000", ">=", 100.0, "2022-11-30"),
    ]),
])
def test_every_plan_is_present_with_its_deadlines(con, plan, doc_number, jurisdiction, expected):
    row = _rows(con, "SELECT doc_number, jurisdiction_code FROM plans WHERE code = ?", [plan])
    assert row, plan
    if doc_number:
        assert row[0][0] == doc_number
    assert row[0][1] == jurisdiction
    have = set(_rows(con, """
        SELECT indicator_code, region_code, comparator, value, CAST(deadline AS VARCHAR)
        FROM targets WHERE plan_code = ? AND valid_to IS NULL""", [plan]))
    for item in expected:
        assert item in have, item


def test_jining_transfer_time_is_lower_is_better_with_baseline(con):
    (direction,) = _rows(con, "SELECT direction FROM indicators WHERE code = 'transfer_days'")[0]
    assert direction == "lower"
    targets = _rows(con, "SELECT comparator, value, timing FROM targets "
                         "WHERE plan_code = 'jining-2023' AND indicator_code = 'transfer_days'")
    assert targets == [("<=", 15.0, "from")]
    assert _rows(con, "SELECT value FROM baselines WHERE plan_code = 'jining-2023'") == [(45.0,)]


def test_region_trees_match_the_catalog(con):
    children = dict(_rows(con, "SELECT parent_code, count(*) FROM regions WHERE parent_code IS NOT NULL "
                               "GROUP BY parent_code"))
    assert children == {"331081": 16, "350900": 10, "350102": 10, "431000": 11, "370800": 14}
    assert _rows(con, "SELECT name FROM regions WHERE code = '370881'") == [("曲阜市",)]
    assert _rows(con, "SELECT region_code FROM region_aliases WHERE alias = '东侨开发区'") == [("350900901",)]


def test_count_targets_are_set_only_where_the_plan_allocates_them(con):
    # A count target on a district exists only where the plan says so explicitly (郴州: every
    # level needs ≥ 4 channels); 宁德's 19 stations are the city total, not per district.
    scopes = _rows(con, """
        SELECT DISTINCT t.region_code FROM targets t JOIN indicators i ON i.code = t.indicator_code
        WHERE i.kind = 'count' AND t.plan_code = 'ningde-2022'""")
    assert scopes == [("350900",)]
    per_county = _rows(con, """
        SELECT count(DISTINCT region_code) FROM targets
        WHERE plan_code = 'chenzhou-2022' AND indicator_code = 'service_channels'""")
    assert per_county == [(12,)]


def _dump(path: Path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall()))
                for t in ("regions", "indicators", "plans", "targets", "baselines",
                          "indicator_aliases", "region_aliases", "schema_version")}
    finally:
        con.close()


def test_init_twice_changes_nothing(warehouse_path):
    before = _dump(warehouse_path)
    stats = init_warehouse(warehouse_path)
    assert stats["targets_new"] == stats["targets_changed"] == stats["targets_retired"] == 0
    assert _dump(warehouse_path) == before


def _copy_targets(tmp_path: Path) -> Path:
    target_dir = tmp_path / "targets"
    shutil.copytree(TARGETS_DIR, target_dir)
    return target_dir


def test_changed_target_is_versioned_and_history_kept(warehouse_path, tmp_path):
    target_dir = _copy_targets(tmp_path)
    plan_file = target_dir / "plans" / "ningde-2022.yaml"
    text = plan_file.read_text(encoding="utf-8")
    assert "value: 70\n" in text
    plan_file.write_text(text.replace("value: 70\n", "value: 72\n", 1), encoding="utf-8")
    stats = init_warehouse(warehouse_path, target_dir)
    assert stats["targets_changed"] == 1 and stats["targets_new"] == 0
    con = db.connect(warehouse_path, read_only=True)
    history = con.execute("""
        SELECT value, valid_to IS NULL FROM targets
        WHERE plan_code = 'ningde-2022' AND indicator_code = 'evoucher_activation_rate'
        ORDER BY valid_from""").fetchall()
    audit = con.execute("SELECT count(*) FROM audit_log WHERE action = 'targets.load'").fetchone()
    con.close()
    assert history == [(70.0, False), (72.0, True)]
    assert audit[0] >= 1


def test_broken_targets_report_every_problem_with_file_and_key(tmp_path):
    target_dir = _copy_targets(tmp_path)
    ind_file = target_dir / "indicators.yaml"
    doc = yaml.safe_load(ind_file.read_text(encoding="utf-8"))
    doc["indicators"].append(dict(doc["indicators"][0]))                 # duplicate code
    doc["indicators"][1]["unit"] = "元"                                    # unknown unit
    ind_file.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    plan_file = target_dir / "plans" / "wenling-2023.yaml"
    plan = yaml.safe_load(plan_file.read_text(encoding="utf-8"))
    plan["targets"][0]["indicator"] = "no_such_indicator"                 # unknown indicator
    plan["targets"][1]["year"] = 2030                                     # outside the plan's years
    plan["targets"][2]["region"] = "350902"                               # other jurisdiction
    plan_file.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")

    with pytest.raises(CatalogError) as err:
        read_catalog(target_dir)
    problems = err.value.problems
    assert any("indicators.yaml" in p and "evoucher_activation_rate" in p and "重复" in p for p in problems)
    assert any("indicators.yaml" in p and "元" in p for p in problems)
    assert any("plans/wenling-2023.yaml" in p and "no_such_indicator" in p for p in problems)
    assert any("plans/wenling-2023.yaml" in p and "2030" in p and "方案年限" in p for p in problems)
    assert any("plans/wenling-2023.yaml" in p and "350902" in p and "不属于" in p for p in problems)

    out = tmp_path / "w.duckdb"
    proc = subprocess.run([sys.executable, "-m", "pipelines", "init", "--db", str(out),
                           "--targets", str(target_dir)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode != 0
    for needle in ("重复", "no_such_indicator", "2030", "350902"):
        assert needle in proc.stderr
    assert not out.exists(), "nothing is written when targets/ has problems"


def test_typos_and_reporting_lines_are_named_with_their_file(tmp_path):
    target_dir = _copy_targets(tmp_path)
    plan_file = target_dir / "plans" / "chenzhou-2022.yaml"
    plan = yaml.safe_load(plan_file.read_text(encoding="utf-8"))
    plan["targets"][0]["bais"] = "ytd"                                    # a typo of basis
    plan["targets"][1]["judge"] = "sometimes"
    plan["reporting"][0]["by"] = "province"
    del plan["reporting"][1]["reason"]
    plan["reporting"].append({"indicator": "training_sessions", "by": "self", "reason": "x"})
    plan_file.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    indicators = target_dir / "indicators.yaml"
    inds = yaml.safe_load(indicators.read_text(encoding="utf-8"))
    inds["indicators"][0]["tolerence"] = 0.5                              # a typo of tolerance
    indicators.write_text(yaml.safe_dump(inds, allow_unicode=True), encoding="utf-8")
    gulou = target_dir / "plans" / "gulou-2022.yaml"
    doc = yaml.safe_load(gulou.read_text(encoding="utf-8"))
    doc["targets"].append({**doc["targets"][3], "region": "350102001"})   # a unit target on a self count
    gulou.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        read_catalog(target_dir)
    problems = err.value.problems
    assert any("chenzhou-2022.yaml" in p and "未知字段“bais”：是否应为“basis”？" in p for p in problems)
    assert any("chenzhou-2022.yaml" in p and "判定“sometimes”" in p for p in problems)
    assert any("报送分工 #1" in p and "province" in p for p in problems)
    assert any("报送分工 #2" in p and "缺少 reason" in p for p in problems)
    assert any("报送分工 #3" in p and "重复" in p for p in problems)
    assert any("gulou-2022.yaml" in p and "350102001" in p and "也设有目标" in p for p in problems)
    assert any("indicators.yaml" in p and "未知字段“tolerence”：是否应为“tolerance”？" in p for p in problems)


def test_who_reports_what_and_how_targets_judge_are_loaded(warehouse_path):
    con = db.connect(warehouse_path, read_only=True)
    try:
        lines = {(j, i): by for j, i, by in con.execute(
            "SELECT jurisdiction_code, indicator_code, reported_by FROM reporting").fetchall()}
        judge = dict(con.execute("SELECT DISTINCT indicator_code || '|' || timing, judge FROM targets "
                                 "WHERE valid_to IS NULL").fetchall())
        reasons = con.execute("SELECT count(*) FROM reporting WHERE length(reason) < 10").fetchone()[0]
    finally:
        con.close()
    assert [i for (j, i), by in lines.items() if j == "331081" and by == "self"] == [
        "cross_city_offline_items", "town_demo_sites", "village_demo_sites",
        "chronic_cross_province_facilities", "mobile_payment_hospitals", "internet_medical_institutions"]
    assert {i for (j, i), by in lines.items() if j == "350102" and by == "self"} == {
        "demo_windows", "grassroots_demo_sites", "hospital_demo_sites", "smart_demo_sites"}
    assert lines[("431000", "training_sessions")] == lines[("431000", "service_channels")] == "every_level"
    assert reasons == 0
    # counts with a deadline are reached; rates, means and standing counts hold
    assert judge["training_sessions|year"] == judge["hospital_service_stations|deadline"] == "reach"
    assert judge["service_channels|from"] == judge["evoucher_activation_rate|deadline"] == "hold"
    assert judge["transfer_days|from"] == "hold"


def test_migration_3_fills_judge_and_dates_old_targets_from_their_plan(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description VARCHAR, "
                "applied_at TIMESTAMP DEFAULT current_timestamp)")
    for version, description, sql in db.MIGRATIONS[:2]:          # a warehouse of the last release
        con.execute(sql)
        con.execute("INSERT INTO schema_version (version, description) VALUES (?, ?)", [version, description])
    con.execute("INSERT INTO indicators VALUES ('town_demo_sites', '示范点', '个', 'count', '年度', 'stock', "
                "'higher', '个数', NULL, FALSE, 1, 0.05, NULL, 0)")
    con.execute("INSERT INTO plans VALUES ('wenling-2023', 't', NULL, DATE '2023-08-30', '331081', 2023, 2025, NULL)")
    for key, valid_from in (("a", "2026-11-01 10:00:00"), ("a", "2026-11-20 10:00:00")):
        con.execute("INSERT INTO targets (target_key, plan_code, indicator_code, region_code, tier, comparator, "
                    "value, timing, year_from, deadline, effective, basis, origin, valid_from) VALUES "
                    "(?, 'wenling-2023', 'town_demo_sites', '331081', '基本目标', '>=', 7, 'year', 2024, "
                    "DATE '2024-12-31', DATE '2024-01-01', 'period', 'targets/wenling-2023', ?)",
                    [key, valid_from])
    assert db.migrate(con) == [v for v, _, _ in db.MIGRATIONS if v >= 3]   # 3 and every later one
    rows = con.execute("SELECT judge, valid_from FROM targets ORDER BY target_id").fetchall()
    con.close()
    import datetime as dt
    assert rows == [("reach", dt.datetime(2023, 8, 30)), ("reach", dt.datetime(2026, 11, 20, 10))]


def test_migrations_are_recorded_and_never_reapplied(warehouse_path):
    con = db.connect(warehouse_path)
    try:
        assert db.migrate(con) == []
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == db.SCHEMA_VERSION
        for table in ("submissions", "return_values", "value_lineage", "users", "api_tokens", "audit_log"):
            con.execute(f"SELECT count(*) FROM {table}").fetchone()
    finally:
        con.close()


def test_cli_init_reports_counts(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pipelines", "init", "--db", str(tmp_path / "a.duckdb")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "指标 34 个" in proc.stdout and "方案 5 个" in proc.stdout
