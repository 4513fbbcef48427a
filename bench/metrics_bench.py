"""Benchmark of the metrics engine: gaps at city scale (and national scale given a warehouse).

`run(national_db_path=None) -> list[dict]` of {"name", "value", "unit", "budget",
"reference_value"}: each gaps timing sits next to the plain DuckDB aggregate
(SUM(num)/SUM(den) GROUP BY region, indicator over the same rows) timed in the same run.
City scale: a warehouse built in a temp dir from targets/ with synthetic 宁德市 returns
(10 districts × the 6 宁德 indicators × 2022–2024 months/quarters).
"""
from __future__ import annotations

import datetime as dt
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

REPEAT = 7
REFERENCE_SQL = """
SELECT v.region_code, v.indicator_code, sum(v.numerator) / NULLIF(sum(v.denominator), 0)
FROM return_values v JOIN regions r ON r.code = v.region_code
WHERE v.superseded_at IS NULL AND v.year = ? AND v.month_from >= ? AND v.month_to <= ?
  AND (r.parent_code = ? OR r.code = ? OR r.parent_code IN (SELECT code FROM regions WHERE parent_code = ?))
GROUP BY ALL
"""


def _median_ms(fn) -> float:
    fn()                                   # warm
    times = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _interleaved_ms(*fns, repeat: int = 3 * REPEAT) -> list[float]:
    """Median ms of each of `fns`, called in turn `repeat` times (after one warm call each)."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, out in zip(fns, times):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000)
    return [statistics.median(t) for t in times]


def _city_warehouse(path: Path) -> None:
    from pipelines import db
    from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
    from pipelines.periods import month, quarter
    from pipelines.warehouse import init_warehouse
    init_warehouse(path)
    con = db.connect(path)
    rnd = random.Random(7)
    kids = [c for (c,) in con.execute("SELECT code FROM regions WHERE parent_code = '350900'").fetchall()]
    inds = con.execute("SELECT code, kind, frequency FROM indicators WHERE code IN (SELECT "
                       "indicator_code FROM targets WHERE region_code = '350900')").fetchall()
    rows = []
    for y in (2022, 2023, 2024):
        for code, kind, freq in inds:
            periods = [month(y, m) for m in range(1, 13)] if freq == "月度" else [
                quarter(y, q) for q in range(1, 5)]
            for k in kids:
                for p in periods:
                    den = rnd.randint(1000, 100000)
                    num = rnd.randint(1, 12) if kind == "count" else rnd.randint(den // 2, den)
                    rows.append(ReturnRow(k, code, p, num, None if kind == "count" else den))
    load_rows(con, rows, SubmissionMeta("bench-city.xlsx", "bench-city"),
              now=dt.datetime.now() + dt.timedelta(seconds=1))
    from pipelines.metrics import figure_table
    figure_table.refresh(con)          # as ingest does after a batch: readers use the table
    con.close()


def _one_return(con, regions: list[str], y: int, m: int, seed: int):
    """The rows of one monthly return for `regions` (the units one file covers): each
    indicator they report for month m, new values."""
    from pipelines.returns.load import ReturnRow
    from pipelines.periods import month
    rnd = random.Random(seed)
    reported = con.execute("""
        SELECT DISTINCT v.region_code, i.code, i.kind FROM return_values v
        JOIN indicators i ON i.code = v.indicator_code
        WHERE list_contains(?, v.region_code) AND v.year = ? AND v.month_from = ? AND v.month_to = ?
          AND v.superseded_at IS NULL ORDER BY 1, 2""", [regions, y, m, m]).fetchall()
    rows = []
    for region, code, kind in reported:
        den = rnd.randint(1000, 100000)
        num = rnd.randint(1, 12) if kind == "count" else rnd.randint(den // 2, den)
        rows.append(ReturnRow(region, code, month(y, m), num, None if kind == "count" else den))
    return rows


def _refresh_figures(db_path, returns: list[list[str]], label: str, budget_ms: float) -> list[dict]:
    """An accepted return (a revision of its units' month), then the figures refresh it
    causes: median over `returns` (each a list of the units one file covers), beside the load
    of the return itself."""
    from pipelines import db
    from pipelines.returns.load import SubmissionMeta, load_rows
    from pipelines.metrics import figure_table
    con = db.connect(db_path)
    loads, refreshes, counts = [], [], []
    try:
        figure_table.refresh(con)
        for n, units in enumerate(returns):
            rows = _one_return(con, units, 2024, 5, seed=n)
            assert rows, f"no values to revise for {units[:3]}"
            t = time.perf_counter()
            load_rows(con, rows, SubmissionMeta(f"bench-{n}.xlsx", f"bench-refresh-{label}-{n}"))
            loads.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            stats = figure_table.refresh(con)
            refreshes.append((time.perf_counter() - t) * 1000)
            counts.append(stats["rows"])
    finally:
        con.close()
    return [{"name": f"figures.refresh after one return, {label}", "value": round(statistics.median(refreshes), 2),
             "unit": "ms", "budget": budget_ms, "reference_value": round(statistics.median(loads), 2)},
            {"name": f"figures.refresh rows rewritten, {label}", "value": statistics.median(counts),
             "unit": "rows", "budget": None, "reference_value": None}]


def _measure(db_path, region: str, label: str, budget_ms: float) -> dict:
    from pipelines import db
    from pipelines.metrics import Metrics
    from pipelines.periods import parse_period
    con = db.connect(db_path, read_only=True)
    try:
        m = Metrics(con)
        p = parse_period("2024Q2")
        # the view and its floor taken in turn, so that both see the same load on a shared machine
        value, ref = _interleaved_ms(
            lambda: m.gaps(p, region=region),
            lambda: con.execute(REFERENCE_SQL, [p.year, p.month_from, p.month_to, region, region, region]).fetchall())
        engine = _median_ms(lambda: Metrics(con, stored=False).gaps(p, region=region))
    finally:
        con.close()
    # budget: 2× the plain aggregate, and never above `budget_ms`
    return [{"name": f"metrics.gaps {label} ({region}, 2024Q2)", "value": round(value, 2),
             "unit": "ms", "budget": round(min(budget_ms, 2 * ref), 2), "reference_value": round(ref, 2)},
            {"name": f"metrics.gaps reference engine {label} ({region}, 2024Q2)", "value": round(engine, 2),
             "unit": "ms", "budget": None, "reference_value": round(value, 2)}]


def run(national_db_path=None) -> list[dict]:
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "city.duckdb"
        _city_warehouse(path)
        figures += _measure(path, "350900", "city scale", 50.0)
        figures += _refresh_figures(path, [["350902"], ["350921"], ["350981"]], "city scale", 250.0)
    if national_db_path:
        from pipelines import db
        con = db.connect(national_db_path, read_only=True)
        try:
            # the prefecture with the most counties, and its province
            pref = con.execute("SELECT parent_code FROM regions WHERE depth = 2 GROUP BY ALL "
                               "ORDER BY count(*) DESC, parent_code LIMIT 1").fetchone()[0]
            prov = con.execute("SELECT parent_code FROM regions WHERE code = ?", [pref]).fetchone()[0]
        finally:
            con.close()
        figures += _measure(national_db_path, pref, "national, one prefecture", 100.0)
        figures += _measure(national_db_path, prov, "national, one province", 100.0)
        with tempfile.TemporaryDirectory() as tmp:      # a copy: the later benches read the original
            copy = Path(tmp) / "national.duckdb"
            shutil.copyfile(national_db_path, copy)
            con = db.connect(copy, read_only=True)
            try:
                prefs = [p for (p,) in con.execute("SELECT code FROM regions WHERE depth = 1 ORDER BY code "
                                                   "LIMIT 3").fetchall()]
                returns = [[c for (c,) in con.execute("SELECT code FROM regions WHERE parent_code = ?",
                                                      [p]).fetchall()] for p in prefs]
            finally:
                con.close()
            figures += _refresh_figures(copy, returns, "national, one prefecture's return", 1000.0)
    return figures


if __name__ == "__main__":
    import json
    import sys
    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else None), ensure_ascii=False, indent=1))
