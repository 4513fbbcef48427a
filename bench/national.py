"""National-scale synthetic warehouse for benchmarks: 31 provinces, ~333 prefectures, 2,844 counties.

`build_national(path)` runs `init_warehouse` (schema + the five seed plans), then adds, with
set-based SQL straight into DuckDB (no Excel on the way):
- a national region tree: provinces `pp0000` (省01…), prefectures `ppmm00` (市0101…) and
  counties `ppmmcc` (县010101…), using the 31 real provincial prefixes and skipping any
  prefecture prefix a seed region already uses, so codes never collide;
- one synthetic plan per province with year-by-year targets 2021–2025 on the province itself
  (rates and the mean apply to everything below it; counts are the province total);
- one accepted submission per (prefecture, month) for 2021-01 … 2025-12, holding its counties'
  values for 15 indicators, with lineage rows (sheet/row/cell) for every value.
By default every indicator is reported each month (2,844 × 15 × 60 = 2,559,600 values, less
the few late returns of the last two months); `native_frequency=True` reports the quarterly
indicators as quarter values instead. `villages=True` adds ~14 villages under every county and
reports at that level (tens of millions of values): it shows where the limits are.

Values are a deterministic function of (seed, unit, indicator, month) — `unit_noise` below is
the same integer hash the SQL uses — so two builds with one seed are identical.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

PROVINCE_PREFIXES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45,
                     46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65]
N_PREFECTURES = 333
N_COUNTIES = 2844
FIRST_YEAR, N_MONTHS = 2021, 60
ORIGIN = "bench:national"

# The 15 indicators and how their synthetic values behave. lo/hi: the level (a rate 0–1, a
# count, or a mean) at the first and the last month; den: the denominator range (per month
# for flow indicators); spread: how far units differ; noise: month-to-month jitter.
INDICATORS = [
    # code, den_lo, den_hi, lo, hi, spread, noise, target_basis
    ("evoucher_activation_rate", 80_000, 900_000, 0.45, 0.92, 0.16, 0.02, "period"),
    ("evoucher_settlement_rate", 20_000, 400_000, 0.10, 0.55, 0.20, 0.04, "ytd"),
    ("on_time_completion_rate", 500, 8_000, 0.90, 0.995, 0.06, 0.01, "period"),
    ("online_completion_rate", 1_000, 14_000, 0.55, 0.96, 0.14, 0.03, "period"),
    ("inpatient_cross_province_rate", 20, 700, 0.55, 0.85, 0.18, 0.05, "period"),
    ("maternity_in_province_rate", 30, 500, 0.70, 0.95, 0.12, 0.04, "period"),
    ("remote_care_facility_rate", 20, 200, 0.60, 0.98, 0.18, 0.02, "period"),
    ("online_availability_rate", 80, 120, 0.70, 1.00, 0.14, 0.01, "period"),
    ("full_online_items_rate", 80, 120, 0.50, 0.90, 0.18, 0.01, "period"),
    ("town_window_rate", 8, 30, 0.60, 1.00, 0.20, 0.00, "period"),
    ("chronic_cross_province_facilities", None, None, 0.5, 12.0, 0.30, 0.00, "period"),
    ("mobile_payment_hospitals", None, None, 1.0, 10.0, 0.30, 0.00, "period"),
    ("hospital_service_stations", None, None, 0.2, 8.0, 0.30, 0.00, "period"),
    ("training_sessions", None, None, 0.2, 1.2, 0.40, 1.00, "ytd"),
    ("transfer_days", 20, 400, 15.0, 8.0, 4.00, 1.50, "period"),
]
MISSING_RATE = 0.03      # share of units whose return for each of the last two months is missing


def unit_noise(seed: int, a: int, b: int, c: int) -> float:
    """Uniform [0, 1) from integers: the Python twin of the SQL macro `_nat_u`."""
    k = (seed * 1000003 + a * 7919 + b * 104729 + c * 31) % 2**32
    h = (k * 2654435761) % 2**32
    h = ((h ^ (h >> 16)) * 2246822519) % 2**32
    h ^= h >> 13
    return h / 2**32


def _split(total: int, parts: int, rng: random.Random, spread: float = 0.35) -> list[int]:
    """Split `total` into `parts` positive integers around the mean (deterministic for rng)."""
    weights = [1 + spread * (2 * rng.random() - 1) for _ in range(parts)]
    raw = [total * w / sum(weights) for w in weights]
    out = [max(1, int(x)) for x in raw]
    order = sorted(range(parts), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    i = 0
    while sum(out) < total:
        out[order[i % parts]] += 1
        i += 1
    while sum(out) > total:
        j = max(range(parts), key=lambda k: out[k])
        out[j] -= 1
    return out


def region_tree(used_prefixes: set[str], seed: int = 7, villages: bool = False,
                provinces: int | None = None) -> list[dict]:
    """The national tree as rows of `regions` (without sort_order offset); `provinces`: only the
    first that many provinces (a measured fraction of the whole: the same provinces, the same
    prefectures and counties under them as in the full tree)."""
    rng = random.Random(seed)
    prefs_per_prov = _split(N_PREFECTURES, len(PROVINCE_PREFIXES), rng)
    counties_per_pref = _split(N_COUNTIES, N_PREFECTURES, rng)
    rows: list[dict] = []
    pref_no = 0
    for pi, pp in enumerate(PROVINCE_PREFIXES, start=1):
        if provinces is not None and pi > provinces:
            break
        prov = f"{pp}0000"
        rows.append({"code": prov, "name": f"省{pi:02d}", "parent_code": None, "jurisdiction_code": prov,
                     "level": "省", "depth": 0})
        mm = 0
        for pj in range(1, prefs_per_prov[pi - 1] + 1):
            mm += 1
            while f"{pp}{mm:02d}" in used_prefixes:
                mm += 1
            pref = f"{pp}{mm:02d}00"
            rows.append({"code": pref, "name": f"市{pi:02d}{pj:02d}", "parent_code": prov,
                         "jurisdiction_code": prov, "level": "市", "depth": 1})
            for ck in range(1, counties_per_pref[pref_no] + 1):
                county = f"{pp}{mm:02d}{ck:02d}"
                rows.append({"code": county, "name": f"县{pi:02d}{pj:02d}{ck:02d}", "parent_code": pref,
                             "jurisdiction_code": prov, "level": "县", "depth": 2})
                if villages:
                    for vk in range(1, 12 + int(unit_noise(seed, int(county), 0, 0) * 5) + 1):
                        rows.append({"code": f"{county}{vk:03d}",
                                     "name": f"村{pi:02d}{pj:02d}{ck:02d}{vk:03d}", "parent_code": county,
                                     "jurisdiction_code": prov, "level": "村（社区）", "depth": 3})
            pref_no += 1
    return rows


_MACROS = """
CREATE OR REPLACE TEMP MACRO _nat_h1(k) AS (k::UBIGINT * 2654435761::UBIGINT) % 4294967296::UBIGINT;
CREATE OR REPLACE TEMP MACRO _nat_h2(h) AS (xor(h, h >> 16) * 2246822519::UBIGINT) % 4294967296::UBIGINT;
CREATE OR REPLACE TEMP MACRO _nat_h3(h) AS xor(h, h >> 13);
CREATE OR REPLACE TEMP MACRO _nat_u(s, a, b, c) AS
    _nat_h3(_nat_h2(_nat_h1((s::BIGINT * 1000003 + a::BIGINT * 7919 + b::BIGINT * 104729 + c::BIGINT * 31) % 4294967296))) / 4294967296.0;
"""

# One chunk (a range of months) of values: every reporting unit × indicator due × month.
_ROWS_SQL = """
CREATE OR REPLACE TEMP TABLE _nat_rows AS
WITH due AS (
    SELECT u.unit_idx, u.unit_code, u.unit_ord, u.size_u, u.submitter_idx,
           i.ind_idx, i.code AS indicator_code, i.kind, i.aggregation, i.den_lo, i.den_hi,
           i.lo, i.hi, i.spread, i.noise,
           m.month_idx, m.year, m.month,
           CASE WHEN $native AND i.frequency = '季度' THEN 'Q' ELSE 'M' END AS period_type
    FROM _nat_units u
    CROSS JOIN _nat_ind i
    JOIN _nat_month m ON m.month_idx BETWEEN $first AND $last
    WHERE (NOT $native OR i.frequency = '月度' OR m.month % 3 = 0)
      AND NOT (m.month_idx >= $n_months - 2 AND _nat_u($seed, u.unit_idx, 99, m.month_idx) < $missing)
), shaped AS (
    SELECT *,
           CASE WHEN period_type = 'Q' THEN month - 2 ELSE month END AS month_from,
           CASE WHEN period_type = 'Q' AND aggregation = 'flow' THEN 3 ELSE 1 END AS span,
           month_idx / ($n_months - 1.0) AS p,
           _nat_u($seed, unit_idx, ind_idx, 1) AS skill,
           _nat_u($seed, unit_idx, ind_idx, 1000 + month_idx) AS jitter
    FROM due
), valued AS (
    SELECT *,
           lo + (hi - lo) * p + spread * (skill - 0.5) + noise * (jitter - 0.5) AS level,
           CASE WHEN kind = 'count' THEN NULL
                ELSE greatest(1, round((den_lo + (den_hi - den_lo) * size_u) * span * (1 + 0.1 * p)))
           END AS den
    FROM shaped
)
SELECT $base - 1 + row_number() OVER (ORDER BY s.submission_id, v.unit_ord, v.ind_idx) AS value_id,
       s.submission_id, v.unit_code AS region_code, v.indicator_code,
       CASE WHEN v.period_type = 'Q' THEN v.year || 'Q' || (v.month // 3)
            ELSE v.year || '-' || lpad(v.month::VARCHAR, 2, '0') END AS period,
       v.period_type, v.year, v.month_from, v.month AS month_to,
       CASE v.kind
            WHEN 'ratio' THEN round(v.den * least(1.0, greatest(0.0, v.level)))
            WHEN 'mean' THEN round(v.den * greatest(1.0, v.level))
            ELSE greatest(0, round(v.level * (0.4 + 1.2 * v.size_u) * v.span))
       END::DOUBLE AS numerator,
       v.den::DOUBLE AS denominator, s.uploaded_at AS loaded_at, s.file_name,
       v.unit_ord, v.ind_idx, v.kind
FROM valued v JOIN _nat_sub s ON s.submitter_idx = v.submitter_idx AND s.month_idx = v.month_idx
"""


def _setup_temp_tables(con, tree: list[dict], villages: bool, seed: int) -> None:
    import pandas as pd
    leaf_level = "村（社区）" if villages else "县"
    submitter_level = "县" if villages else "市"
    df = pd.DataFrame(tree)
    subs = df[df.level == submitter_level].reset_index(drop=True)
    subs["submitter_idx"] = range(len(subs))
    leaves = df[df.level == leaf_level].reset_index(drop=True)
    leaves = leaves.merge(subs[["code", "submitter_idx"]].rename(columns={"code": "parent_code"}),
                          on="parent_code")
    leaves["unit_idx"] = range(len(leaves))
    leaves["unit_ord"] = leaves.groupby("submitter_idx").cumcount()
    leaves["size_u"] = [unit_noise(seed, int(c), 0, 0) for c in leaves.code]
    con.register("_nat_leaves_df", leaves[["unit_idx", "code", "unit_ord", "size_u", "submitter_idx"]])
    con.execute("CREATE OR REPLACE TEMP TABLE _nat_units AS SELECT unit_idx, code AS unit_code, unit_ord, "
                "size_u, submitter_idx FROM _nat_leaves_df")
    con.unregister("_nat_leaves_df")
    con.register("_nat_subs_df", subs[["submitter_idx", "code", "name"]])
    con.execute("CREATE OR REPLACE TEMP TABLE _nat_submitters AS SELECT * FROM _nat_subs_df")
    con.unregister("_nat_subs_df")
    ind = pd.DataFrame(INDICATORS, columns=["code", "den_lo", "den_hi", "lo", "hi", "spread", "noise",
                                            "target_basis"])
    ind["ind_idx"] = range(len(ind))
    con.register("_nat_ind_df", ind)
    con.execute("CREATE OR REPLACE TEMP TABLE _nat_ind AS SELECT d.*, i.kind, i.frequency, i.aggregation, "
                "i.direction, i.name, i.unit FROM _nat_ind_df d JOIN indicators i USING (code)")
    con.unregister("_nat_ind_df")
    missing = set(ind.code) - {r[0] for r in con.execute("SELECT code FROM _nat_ind").fetchall()}
    if missing:
        raise RuntimeError(f"targets/indicators.yaml 中缺少基准测试所用的指标：{sorted(missing)}")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _nat_month AS
        SELECT i AS month_idx, {FIRST_YEAR} + i // 12 AS year, i % 12 + 1 AS month FROM range({N_MONTHS}) t(i)""")
    # One submission per (submitter, month), uploaded 2–14 days after the month ends.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _nat_sub AS
        SELECT nextval('submission_seq') AS submission_id, s.submitter_idx, s.code AS submitter_code,
               m.month_idx, m.year, m.month,
               s.name || '_' || m.year || '年' || m.month || '月_医保便民服务指标报表.xlsx' AS file_name,
               sha256(s.code || '|' || m.year || '-' || m.month || '|{seed}') AS content_hash,
               (make_timestamp(m.year, m.month, 1, 9, 0, 0) + INTERVAL 1 MONTH
                 + to_days((2 + floor(_nat_u({seed}, s.submitter_idx, 7, m.month_idx) * 13))::INTEGER)
                 + to_minutes((floor(_nat_u({seed}, s.submitter_idx, 8, m.month_idx) * 480))::INTEGER)
               )::TIMESTAMP AS uploaded_at
        FROM _nat_submitters s CROSS JOIN _nat_month m""")


def _insert_regions(con, tree: list[dict]) -> None:
    import pandas as pd
    start = con.execute("SELECT coalesce(max(sort_order), -1) + 1 FROM regions").fetchall()[0][0]
    df = pd.DataFrame(tree)
    df["sort_order"] = range(start, start + len(df))
    con.register("_nat_regions_df", df)
    con.execute("INSERT INTO regions SELECT code, name, parent_code, jurisdiction_code, level, depth, "
                "sort_order, TRUE FROM _nat_regions_df")
    con.unregister("_nat_regions_df")


def _insert_plans_and_targets(con, now: dt.datetime) -> int:
    """One plan per province; year targets 2021–2025 on the province for every indicator."""
    last_year = FIRST_YEAR + N_MONTHS // 12 - 1
    con.execute(f"""
        INSERT INTO plans
        SELECT 'national-' || code, name || '医保便民服务提升方案（全国规模合成基准数据）', '基准〔' || code || '〕号',
               DATE '{FIRST_YEAR - 1}-12-20', code, {FIRST_YEAR}, {last_year}, NULL
        FROM regions WHERE level = '省' AND parent_code IS NULL AND code IN
            (SELECT DISTINCT jurisdiction_code FROM _nat_units u JOIN regions r ON r.code = u.unit_code)""")
    # Target for year y: the expected level at the year's end (+2 % of the range), so that about
    # half of the units miss it. Counts: the province total of the expected county counts.
    con.execute(f"""
        INSERT INTO targets (target_key, plan_code, indicator_code, region_code, tier, comparator, value,
                             timing, year_from, deadline, effective, basis, judge, clause, text, origin,
                             valid_from)
        WITH prov AS (
            SELECT r.jurisdiction_code AS code, count(*) AS n_units
            FROM _nat_units u JOIN regions r ON r.code = u.unit_code GROUP BY ALL
        ), yr AS (SELECT {FIRST_YEAR} + i AS y FROM range({last_year - FIRST_YEAR + 1}) t(i)),
        t AS (
            SELECT prov.code AS region, prov.n_units, yr.y, i.*,
                   ((yr.y - {FIRST_YEAR}) * 12 + 11) / ({N_MONTHS} - 1.0) AS p
            FROM prov CROSS JOIN yr CROSS JOIN _nat_ind i
        ), v AS (
            SELECT *, CASE kind
                WHEN 'ratio' THEN round(100 * least(1.0, lo + (hi - lo) * p + 0.02 * abs(hi - lo)), 1)
                WHEN 'mean' THEN round(lo + (hi - lo) * p - 0.02 * abs(hi - lo), 1)
                ELSE round(n_units * (lo + (hi - lo) * p) * CASE WHEN aggregation = 'flow' THEN 12 ELSE 1 END)
            END AS value,
            CASE direction WHEN 'lower' THEN '<=' ELSE '>=' END AS comparator
            FROM t
        )
        SELECT 'national-' || region || '|' || code || '|' || region || '|基本目标|' || y || '|' || y || '-01-01',
               'national-' || region, code, region, '基本目标', comparator, value, 'year', y,
               make_date(y, 12, 31), make_date(y, 1, 1), target_basis,
               CASE WHEN kind = 'count' THEN 'reach' ELSE 'hold' END, '合成条款',
               y || '年' || name || CASE comparator WHEN '>=' THEN '不低于' ELSE '不高于' END || value || unit,
               '{ORIGIN}', ?::TIMESTAMP
        FROM v""", [now])
    return con.execute("SELECT count(*) FROM targets WHERE origin = ?", [ORIGIN]).fetchall()[0][0]


def build_national(path, *, villages: bool = False, native_frequency: bool = False, seed: int = 20240,
                   progress=None, figures: bool = True, provinces: int | None = None) -> dict:
    """Build the national warehouse at `path` (must not exist). Returns counts and timings."""
    from pipelines import db
    from pipelines.warehouse import init_warehouse

    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} 已存在：请换一个输出路径，或先删除该文件")
    t0 = time.perf_counter()
    init_warehouse(path)
    con = db.connect(path)
    try:
        now = dt.datetime.now()
        con.execute(_MACROS)
        used = {r[0][:4] for r in con.execute("SELECT code FROM regions").fetchall()}
        tree = region_tree(used, seed=seed % 1000, villages=villages, provinces=provinces)
        con.execute("BEGIN")
        _insert_regions(con, tree)
        _setup_temp_tables(con, tree, villages, seed)
        n_targets = _insert_plans_and_targets(con, now)
        con.execute("COMMIT")
        # Bulk load without the secondary key index, rebuilt once at the end.
        con.execute("DROP INDEX IF EXISTS return_values_key")
        values = 0
        for first in range(0, N_MONTHS, 12):
            con.execute("BEGIN")
            base = con.execute("SELECT nextval('value_seq')").fetchall()[0][0]
            con.execute(_ROWS_SQL.replace("$native", "TRUE" if native_frequency else "FALSE")
                        .replace("$base", str(base))
                        .replace("$first", str(first)).replace("$last", str(first + 11))
                        .replace("$n_months", str(N_MONTHS)).replace("$seed", str(seed))
                        .replace("$missing", str(MISSING_RATE)))
            n = con.execute("SELECT count(*) FROM _nat_rows").fetchall()[0][0]
            # Advance the sequence past the ids used, so later loads continue after them.
            con.execute("SELECT max(nextval('value_seq')) FROM range(?)", [max(n - 1, 0)]).fetchall()
            _insert_chunk(con)
            con.execute("COMMIT")
            values += n
            con.execute("DROP TABLE _nat_rows")
            if progress:
                progress(f"已生成 {FIRST_YEAR + first // 12} 年：累计 {values:,} 个数值")
        con.execute("CREATE INDEX return_values_key ON return_values(region_code, indicator_code, period)")
        # The values went in by plain SQL, past load_rows' stale marks: build the figures anew
        # (or, with figures=False, mark them all stale: readers then compute from the values).
        from pipelines.metrics.figure_table import mark_all, rebuild
        t_fig = time.perf_counter()
        if figures:
            rebuild(con)
        else:
            mark_all(con)
        figures_seconds = time.perf_counter() - t_fig
        con.execute("INSERT OR REPLACE INTO settings VALUES ('bench.national', ?)", [json.dumps(
            {"seed": seed, "villages": villages, "native_frequency": native_frequency,
             "note": "全国规模合成基准数据（示例数据），非真实报送"}, ensure_ascii=False)])
        con.execute("CHECKPOINT")
        counts = dict(zip(["provinces", "prefectures", "counties", "villages"], con.execute(
            "SELECT count(*) FILTER (level = '省'), count(*) FILTER (level = '市'), "
            "count(*) FILTER (level = '县'), count(*) FILTER (level = '村（社区）') FROM regions "
            "WHERE jurisdiction_code IN (SELECT region_code FROM targets WHERE origin = ?)",
            [ORIGIN]).fetchall()[0]))
        counts["submissions"] = con.execute("SELECT count(*) FROM submissions WHERE uploaded_by = ?",
                                            [ORIGIN]).fetchall()[0][0]
    finally:
        con.close()
    return {**counts, "values": values, "targets": n_targets, "indicators": len(INDICATORS),
            "months": N_MONTHS, "seconds": round(time.perf_counter() - t0 - figures_seconds, 2),
            "figures_seconds": round(figures_seconds, 2),     # the figures table, apart
            "provinces_built": provinces or len(PROVINCE_PREFIXES),
            "bytes": path.stat().st_size}


def _insert_chunk(con) -> None:
    """Submissions, values and lineage of the chunk in `_nat_rows` (row numbers as in a long table)."""
    con.execute(f"""
        INSERT INTO submissions (submission_id, content_hash, file_name, archive_path, uploaded_by, channel,
                                 uploaded_at, status, layout, row_count, revision_count, regions, periods,
                                 warnings, errors)
        SELECT s.submission_id, s.content_hash, s.file_name, NULL, '{ORIGIN}', 'demo', s.uploaded_at,
               'accepted', 'long', r.n, 0, r.regions, r.periods, '[]', '[]'
        FROM _nat_sub s JOIN (
            SELECT submission_id, count(*) AS n, list_sort(list_distinct(list(region_code))) AS regions,
                   list_sort(list_distinct(list(period))) AS periods
            FROM _nat_rows GROUP BY submission_id) r USING (submission_id)
        ORDER BY s.submission_id""")
    con.execute("""
        INSERT INTO return_values (value_id, submission_id, region_code, indicator_code, period, period_type,
                                   year, month_from, month_to, numerator, denominator, note, loaded_at)
        SELECT value_id, submission_id, region_code, indicator_code, period, period_type, year, month_from,
               month_to, numerator, denominator, NULL, loaded_at
        FROM _nat_rows ORDER BY submission_id, unit_ord, ind_idx""")
    # Long-table layout: title rows 1–2, header row 3, data from row 4; 分子 in D, 分母 in E.
    con.execute("""
        INSERT INTO value_lineage
        SELECT value_id, file_name, '报表',
               3 + row_number() OVER (PARTITION BY submission_id ORDER BY unit_ord, ind_idx) AS rn,
               'D' || rn, CASE WHEN kind = 'count' THEN NULL ELSE 'E' || rn END
        FROM _nat_rows""")


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    p = argparse.ArgumentParser(prog="python -m bench.national",
                                description="生成全国规模的合成数据仓库（基准测试用，示例数据）")
    p.add_argument("--out", required=True, help="输出的 DuckDB 文件（不得已存在）")
    p.add_argument("--villages", action="store_true", help="再细分到村（社区）级并在该级报送（数千万个数值）")
    p.add_argument("--native-frequency", action="store_true", help="季度指标按季度报送（默认每月报送全部指标）")
    p.add_argument("--seed", type=int, default=20240, help="随机种子（同一种子生成的数据完全相同）")
    p.add_argument("--provinces", type=int, default=None,
                   help="只生成前 N 个省（全国的一部分，省内结构与全量相同；默认全部 31 个）")
    p.add_argument("--no-figures", action="store_true",
                   help="不预先计算指标结果表（全国规模约需 4 分钟）；查询时按原始数值实时计算")
    args = p.parse_args(argv)
    try:
        stats = build_national(args.out, villages=args.villages, native_frequency=args.native_frequency,
                               seed=args.seed, figures=not args.no_figures, provinces=args.provinces,
                               progress=lambda m: print(m, flush=True))
    except FileExistsError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    print(f"已生成 {args.out}：省 {stats['provinces']} 个、市 {stats['prefectures']} 个、县 {stats['counties']} 个"
          + (f"、村（社区） {stats['villages']} 个" if stats["villages"] else "")
          + f"；指标 {stats['indicators']} 个、{stats['months']} 个月；报送 {stats['submissions']:,} 份、"
          f"数值 {stats['values']:,} 个、目标 {stats['targets']} 条；用时 {stats['seconds']} 秒，"
          f"文件 {stats['bytes'] / 2**20:.0f} MB"
          + (f"；指标结果表用时 {stats['figures_seconds']} 秒" if stats.get("figures_seconds") else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
