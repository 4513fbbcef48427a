"""The national-scale generator (bench/national.py): one real build, checked against hand counts."""
from __future__ import annotations

import datetime as dt
import math
import re
import subprocess
import sys

import duckdb
import pytest

from bench import national
from bench.national import INDICATORS, MISSING_RATE, N_MONTHS, build_national, unit_noise

SEED = 20240


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("national") / "national.duckdb"
    stats = build_national(path, seed=SEED, figures=False)   # the figures table: make bench
    return path, stats


def _q(path, sql, params=None):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _missing_units() -> set[tuple[int, int]]:
    """(county ordinal, month index) pairs whose return is missing, by the generator's rule."""
    return {(u, m) for u in range(2844) for m in (N_MONTHS - 2, N_MONTHS - 1)
            if unit_noise(SEED, u, 99, m) < MISSING_RATE}


def test_builds_the_national_scale_in_under_a_minute(built):
    _, stats = built
    assert (stats["provinces"], stats["prefectures"], stats["counties"]) == (31, 333, 2844)
    assert stats["villages"] == 0
    assert stats["submissions"] == 333 * 60
    missing = len(_missing_units())
    assert 100 < missing < 240          # ~3 % of 2 × 2,844
    assert stats["values"] == 2844 * 15 * 60 - 15 * missing
    assert stats["targets"] == 31 * 15 * 5
    assert stats["seconds"] < 60


def test_region_codes_are_well_formed_and_leave_the_seed_trees_alone(built):
    path, _ = built
    rows = _q(path, "SELECT code, name, parent_code, jurisdiction_code, level, depth FROM regions "
                    "WHERE jurisdiction_code IN (SELECT region_code FROM targets WHERE origin = 'bench:national')")
    by_code = {r[0]: r for r in rows}
    assert len(rows) == 31 + 333 + 2844
    for code, name, parent, jur, level, depth in rows:
        if level == "省":
            assert re.fullmatch(r"\d{2}0000", code) and parent is None and depth == 0 and jur == code
            assert re.fullmatch(r"省\d{2}", name)
        elif level == "市":
            assert re.fullmatch(r"\d{4}00", code) and code[:2] == parent[:2] and depth == 1
            assert by_code[parent][4] == "省" and re.fullmatch(r"市\d{4}", name)
        else:
            assert level == "县" and re.fullmatch(r"\d{6}", code) and not code.endswith("00")
            assert code[:4] == parent[:4] and by_code[parent][4] == "市" and depth == 2
            assert name == "县" + by_code[parent][1][1:] + name[-2:]
    # Seed regions are untouched: 宁德市 keeps its code and its 10 children.
    assert _q(path, "SELECT name FROM regions WHERE code = '350900'") == [("宁德市",)]
    assert _q(path, "SELECT count(*) FROM regions WHERE parent_code = '350900'") == [(10,)]
    assert "350900" not in by_code and "350100" not in by_code and "331000" not in by_code
    names = [r[1] for r in rows]
    assert len(set(names)) == len(names)


def test_every_submission_holds_exactly_its_rows_with_lineage(built):
    path, _ = built
    bad = _q(path, """
        SELECT s.submission_id FROM submissions s LEFT JOIN return_values v USING (submission_id)
        WHERE s.uploaded_by = 'bench:national' GROUP BY s.submission_id, s.row_count
        HAVING count(v.value_id) <> s.row_count""")
    assert bad == []
    assert _q(path, "SELECT count(*) FROM return_values v ANTI JOIN value_lineage l USING (value_id)") == [(0,)]
    assert _q(path, "SELECT count(*) FROM value_lineage") == _q(path, "SELECT count(*) FROM return_values")
    # Counties of a prefecture come in one return per month, in the prefecture's name.
    rows = _q(path, """
        SELECT s.file_name, list_sort(s.regions), s.periods, s.row_count FROM submissions s
        JOIN regions r ON r.name = split_part(s.file_name, '_', 1)
        WHERE r.code = '110100' AND s.periods = ['2024-06']""")
    (file_name, regions, periods, row_count), = rows
    counties = [c for (c,) in _q(path, "SELECT code FROM regions WHERE parent_code = '110100' ORDER BY code")]
    assert file_name == "市0101_2024年6月_医保便民服务指标报表.xlsx"
    assert regions == counties and row_count == 15 * len(counties)
    # Lineage: header in row 3, one row per (county, indicator); counts have no denominator cell.
    cells = _q(path, """
        SELECT l.row_number, l.numerator_cell, l.denominator_cell, v.indicator_code FROM value_lineage l
        JOIN return_values v USING (value_id) WHERE l.file_name = ? ORDER BY l.row_number""", [file_name])
    assert [c[0] for c in cells] == list(range(4, 4 + row_count))
    assert cells[10][1:] == ("D14", None, "chronic_cross_province_facilities")
    assert cells[0][1:] == ("D4", "E4", "evoucher_activation_rate")


def _half_up(x: float) -> float:
    return math.floor(x + 0.5)


def test_values_follow_the_documented_formula(built):
    """Recompute two values in Python from unit_noise and compare with what the SQL wrote."""
    path, _ = built
    # County 110101 is the first county (ordinal 0); 2024-06 is month index 41; indicator 0 is
    # the activation rate (stock ratio), indicator 14 the mean transfer_days.
    p = 41 / 59
    size = unit_noise(SEED, 110101, 0, 0)
    code, den_lo, den_hi, lo, hi, spread, noise, _ = INDICATORS[0]
    den = max(1, _half_up((den_lo + (den_hi - den_lo) * size) * (1 + 0.1 * p)))
    level = lo + (hi - lo) * p + spread * (unit_noise(SEED, 0, 0, 1) - 0.5) \
        + noise * (unit_noise(SEED, 0, 0, 1041) - 0.5)
    num = _half_up(den * min(1.0, max(0.0, level)))
    got = _q(path, "SELECT numerator, denominator FROM return_values WHERE region_code = '110101' "
                   "AND indicator_code = ? AND period = '2024-06'", [code])
    assert got == [(num, den)]
    code, den_lo, den_hi, lo, hi, spread, noise, _ = INDICATORS[14]
    den = max(1, _half_up((den_lo + (den_hi - den_lo) * size) * (1 + 0.1 * p)))
    level = lo + (hi - lo) * p + spread * (unit_noise(SEED, 0, 14, 1) - 0.5) \
        + noise * (unit_noise(SEED, 0, 14, 1041) - 0.5)
    got = _q(path, "SELECT numerator, denominator FROM return_values WHERE region_code = '110101' "
                   "AND indicator_code = 'transfer_days' AND period = '2024-06'")
    assert got == [(_half_up(den * max(1.0, level)), den)]


def test_shares_never_exceed_their_denominator_and_counts_have_none(built):
    path, _ = built
    assert _q(path, """
        SELECT count(*) FROM return_values v JOIN indicators i ON i.code = v.indicator_code
        WHERE (i.is_share AND (v.numerator > v.denominator OR v.numerator < 0))
           OR (i.kind = 'count' AND v.denominator IS NOT NULL)
           OR (i.kind <> 'count' AND coalesce(v.denominator, 0) <= 0)""") == [(0,)]
    # The missing returns are exactly the ones the rule names (last two months only).
    missing = _missing_units()
    got = _q(path, """
        WITH c AS (SELECT code, row_number() OVER (ORDER BY sort_order) - 1 AS ord FROM regions
                   WHERE level = '县' AND jurisdiction_code IN
                   (SELECT region_code FROM targets WHERE origin = 'bench:national'))
        SELECT c.ord, m.i FROM c CROSS JOIN (VALUES (58, '2025-11'), (59, '2025-12')) m(i, period)
        ANTI JOIN return_values v ON v.region_code = c.code AND v.period = m.period""")
    assert {(a, b) for a, b in got} == missing


def test_targets_sit_on_provinces_and_counts_only_there(built):
    path, _ = built
    rows = _q(path, """
        SELECT t.indicator_code, t.comparator, t.value, t.year_from, t.deadline, t.basis, r.level
        FROM targets t JOIN regions r ON r.code = t.region_code
        WHERE t.origin = 'bench:national' AND t.region_code = '110000' ORDER BY t.indicator_code, t.year_from""")
    assert len(rows) == 15 * 5 and {r[6] for r in rows} == {"省"}
    act = [r for r in rows if r[0] == "evoucher_activation_rate"]
    # Year-end level + 2 % of the range: 2021: p = 11/59 → 45 + 47·11/59 + 0.94 = 54.7 %.
    assert act[0][1:6] == (">=", 54.7, 2021, dt.date(2021, 12, 31), "period")
    assert [r[2] for r in act] == sorted(r[2] for r in act)
    days = [r for r in rows if r[0] == "transfer_days"]
    assert {r[1] for r in days} == {"<="} and days[-1][2] == 7.9
    # The count target is the province total of the counties' expected counts: 110000 has
    # n counties; hospital_service_stations 2025: n × (0.2 + 7.8 × 59/59) = 8n.
    n = _q(path, "SELECT count(*) FROM regions WHERE level = '县' AND jurisdiction_code = '110000'")[0][0]
    assert [r[2] for r in rows if r[0] == "hospital_service_stations"][-1] == 8 * n


def test_later_loads_continue_after_the_generated_ids(built, tmp_path):
    """Sequences were advanced: a real load on top gets fresh ids and supersedes correctly."""
    import shutil

    from pipelines import db
    from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
    from pipelines.periods import month
    path = tmp_path / "copy.duckdb"
    shutil.copy(built[0], path)
    con = db.connect(path)
    try:
        max_id = con.execute("SELECT max(value_id) FROM return_values").fetchall()[0][0]
        res = load_rows(con, [ReturnRow("110101", "evoucher_activation_rate", month(2024, 6), 1.0, 2.0,
                                        sheet="Sheet1", row_number=2, numerator_cell="D2",
                                        denominator_cell="E2")],
                        SubmissionMeta(file_name="修正.xlsx", content_hash="x" * 64))
        assert (res.rows, res.revisions) == (1, 1)
        rows = con.execute("SELECT value_id, numerator, superseded_by FROM return_values WHERE "
                           "region_code = '110101' AND indicator_code = 'evoucher_activation_rate' "
                           "AND period = '2024-06' ORDER BY value_id").fetchall()
        assert rows[1][0] == max_id + 1 and rows[1][1] == 1.0 and rows[0][2] == max_id + 1
        assert res.submission_id == 333 * 60 + 1
    finally:
        con.close()


def test_sql_noise_is_the_python_twin():
    con = duckdb.connect()
    con.execute(national._MACROS)
    samples = [(SEED, a, b, c) for a in (0, 1, 2843, 40000) for b in (0, 7, 99, 104729) for c in (0, 1, 1059)]
    got = con.execute("SELECT " + ", ".join(f"_nat_u({s}, {a}, {b}, {c})" for s, a, b, c in samples)).fetchall()[0]
    assert list(got) == pytest.approx([unit_noise(*s) for s in samples], abs=1e-12)
    assert len({round(g, 9) for g in got}) == len(samples)


def test_region_tree_is_deterministic_and_villages_are_tens_of_thousands():
    plain = national.region_tree({"3509"}, seed=240)
    assert plain == national.region_tree({"3509"}, seed=240)
    assert not any(r["code"].startswith("3509") for r in plain)
    villages = [r for r in national.region_tree(set(), seed=240, villages=True) if r["level"] == "村（社区）"]
    assert 2844 * 12 <= len(villages) <= 2844 * 16
    assert all(re.fullmatch(r"\d{9}", r["code"]) and r["code"][:6] == r["parent_code"] for r in villages)


def test_a_fraction_of_the_provinces_is_the_same_tree_under_them():
    """bench-big's measured fraction: the first N provinces, each with exactly the prefectures,
    counties and villages it has in the full tree."""
    full = national.region_tree(set(), seed=240, villages=True)
    part = national.region_tree(set(), seed=240, villages=True, provinces=2)
    provinces = [r["code"] for r in full if r["level"] == "省"][:2]
    assert [r["code"] for r in part if r["level"] == "省"] == provinces
    assert part == [r for r in full if r["jurisdiction_code"] in provinces]


def test_cli_refuses_to_overwrite(built):
    proc = subprocess.run([sys.executable, "-m", "bench.national", "--out", str(built[0])],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "已存在" in proc.stderr and str(built[0]) in proc.stderr


def test_bench_run_reports_misses_and_broken_figures_functions():
    from bench.run import figure, misses, run_child, table
    figs = [figure("a", 2.0, "s", 1.5, 1.0), figure("b", 0.5, "s", 1.5, None), figure("c", 3, "个")]
    assert [f["name"] for f in misses(figs)] == ["a"]
    text = table(figs)
    assert "✗ 超出预算" in text.splitlines()[1] and "2.00×" in text and "✓" in text.splitlines()[2]
    got, err = run_child("bench.no_such_module", {}, timeout=60)
    assert got == [] and "bench.no_such_module 失败" in err
    got, err = run_child("bench.national", {}, timeout=60)     # has no run(): reported, not raised
    assert got == [] and "失败" in err
