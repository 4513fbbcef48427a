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


def _city_warehouse(path: Path) -> None:
    from pipelines import db
    from pipelines.load import ReturnRow, SubmissionMeta, load_rows
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
    con.close()


def _measure(db_path, region: str, label: str, budget_ms: float) -> dict:
    from pipelines import db
    from pipelines.metrics import Metrics
    from pipelines.periods import parse_period
    con = db.connect(db_path, read_only=True)
    try:
        m = Metrics(con)
        p = parse_period("2024Q2")
        value = _median_ms(lambda: m.gaps(p, region=region))
        ref = _median_ms(lambda: con.execute(REFERENCE_SQL, [p.year, p.month_from, p.month_to,
                                                             region, region, region]).fetchall())
    finally:
        con.close()
    return {"name": f"metrics.gaps {label} ({region}, 2024Q2)", "value": round(value, 2),
            "unit": "ms", "budget": budget_ms, "reference_value": round(ref, 2)}


def run(national_db_path=None) -> list[dict]:
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "city.duckdb"
        _city_warehouse(path)
        figures.append(_measure(path, "350900", "city scale", 50.0))
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
        figures.append(_measure(national_db_path, pref, "national, one prefecture", 100.0))
        figures.append(_measure(national_db_path, prov, "national, one province", 100.0))
    return figures


if __name__ == "__main__":
    import json
    import sys
    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else None), ensure_ascii=False, indent=1))
