"""`make bench-big` = `python -m bench.big [--villages] [--provinces N]`: the national dataset at
village level (bench/national.py `--villages`: ~14 村（社区） under every county, reporting at
that level), then the figures of issue 18 at that scale, each beside its reference:

- generation: values written per second, and the figures table built for them (init's rebuild);
- first view: `metrics.gaps` uncached for a county (its villages), its prefecture and its
  province, beside the plain aggregate over the same rows (bench/metrics_bench.py `_measure`);
- refresh after one return: an accepted revision of one county's villages for a month, then the
  figures refresh it causes (`_refresh_figures`), beside the load itself.

The whole village-level country is 35.9 M values; on a 2-core machine its generation alone took
~18 min and the figures table would take about an hour more, so by default the run builds the
first `--provinces` province(s) (the same tree under them as in the full build) and says so in
every figure's name: a measured fraction, not an extrapolation. Results go to
bench/results_big.json in the format of bench/results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import metrics_bench
from bench.national import build_national

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results_big.json"


def run(villages: bool, provinces: int | None, keep: Path | None = None) -> list[dict]:
    from pipelines import db
    tmp = tempfile.TemporaryDirectory()
    path = (keep or Path(tmp.name)) / "big.duckdb"
    if path.exists():
        path.unlink()
    scale = ("villages" if villages else "counties") + (f", {provinces} of 31 provinces" if provinces else ", 31 provinces")
    t = time.perf_counter()
    stats = build_national(path, villages=villages, provinces=provinces,
                           progress=lambda m: print(m, flush=True))
    print(f"built {path} in {time.perf_counter() - t:.0f} s: {stats}", flush=True)
    figures = [
        {"name": f"big.values ({scale})", "value": stats["values"], "unit": "values", "budget": None,
         "reference_value": None},
        {"name": f"big.generate ({scale})", "value": stats["seconds"], "unit": "s", "budget": None,
         "reference_value": None},
        {"name": f"big.figures_rebuild ({scale})", "value": stats["figures_seconds"], "unit": "s",
         "budget": None, "reference_value": None},
        {"name": f"big.file ({scale})", "value": round(stats["bytes"] / 2**20), "unit": "MB", "budget": None,
         "reference_value": None},
    ]
    con = db.connect(path, read_only=True)
    try:
        leaf_parent_depth = 2 if villages else 1
        county = con.execute("SELECT parent_code FROM regions WHERE depth = ? GROUP BY ALL "
                             "ORDER BY count(*) DESC, parent_code LIMIT 1", [leaf_parent_depth + 1]).fetchone()[0]
        chain = [county]
        while True:
            parent = con.execute("SELECT parent_code FROM regions WHERE code = ?", [chain[-1]]).fetchone()[0]
            if parent is None:
                break
            chain.append(parent)
        units = [c for (c,) in con.execute("SELECT code FROM regions WHERE parent_code = ? ORDER BY code",
                                           [county]).fetchall()]
        siblings = [c for (c,) in con.execute("SELECT code FROM regions WHERE parent_code = ? ORDER BY code LIMIT 3",
                                              [chain[1]]).fetchall()]
        returns = [[c for (c,) in con.execute("SELECT code FROM regions WHERE parent_code = ?", [s]).fetchall()]
                   for s in siblings]
    finally:
        con.close()
    levels = ["county", "prefecture", "province"] if villages else ["prefecture", "province"]
    for level, region in zip(levels, chain):
        figures += metrics_bench._measure(path, region, f"{scale}, first view of one {level}", 100.0)
    what = "one county's villages" if villages else "one prefecture's counties"
    figures += metrics_bench._refresh_figures(path, returns or [units], f"{scale}, {what}", 1000.0)
    tmp.cleanup()
    return figures


def main(argv=None) -> int:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    p = argparse.ArgumentParser(prog="python -m bench.big", description="村（社区）级全国规模基准（示例数据）")
    p.add_argument("--villages", action="store_true", help="细分到村（社区）级并在该级报送")
    p.add_argument("--provinces", type=int, default=None,
                   help="只生成前 N 个省（默认：带 --villages 时 1 个，否则全部 31 个）")
    p.add_argument("--keep", type=Path, default=None, help="把生成的数据仓库留在该目录")
    args = p.parse_args(argv)
    provinces = args.provinces if args.provinces is not None else (1 if args.villages else None)
    figures = run(args.villages, provinces, args.keep)
    RESULTS.write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n")
    width = max(len(f["name"]) for f in figures)
    for f in figures:
        ref = "" if f["reference_value"] is None else f"  (reference {f['reference_value']})"
        budget = "" if f["budget"] is None else f"  budget {f['budget']}"
        print(f"{f['name']:<{width}}  {f['value']} {f['unit']}{budget}{ref}")
    missed = [f for f in figures if f["budget"] is not None and f["value"] > f["budget"]]
    for f in missed:
        print(f"超出预算：{f['name']} {f['value']} > {f['budget']}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
