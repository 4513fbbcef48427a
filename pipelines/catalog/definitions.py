"""Read `targets/` (indicators, region trees, target plans), validate it, load it.

The definitions are checked by the typed catalog (pipelines/catalog/model.py): every issue of
every file is collected, each naming its file, entry and field, before anything is written.
Loading is idempotent: unchanged definitions change nothing; a changed target closes its
earlier version (`valid_to`) and opens a new one, so history is kept.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipelines.catalog.model import (BASELINE_COMPARE, TARGET_COMPARE, Baseline, CatalogIssues,
                                     Indicator, Issue, Plan, Region, ReportingLine, Target,
                                     check_indicators, check_plan, flatten_regions)
from pipelines.db import transaction

TARGETS_DIR = Path(__file__).resolve().parents[2] / "targets"
__all__ = ["TARGETS_DIR", "TARGET_COMPARE", "BASELINE_COMPARE", "Catalog", "CatalogError",
           "read_catalog", "load_catalog", "replay_region_edits", "warehouse_indicators",
           "warehouse_regions"]


class CatalogError(CatalogIssues):
    """targets/ cannot be loaded: `issues` (located) and `problems` (their text), all of them."""
    heading = "targets/ 中发现 %d 个问题："


@dataclass
class Catalog:
    indicators: list[Indicator] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)        # flattened, with parent/jurisdiction
    plans: list[Plan] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    baselines: list[Baseline] = field(default_factory=list)
    reporting: list[ReportingLine] = field(default_factory=list)   # who reports what (per jurisdiction)


def _read_yaml(path: Path, file: str, issues: list[Issue]):
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh) or {}
    except FileNotFoundError:
        issues.append(Issue("文件不存在", file=file))
    except yaml.YAMLError as exc:
        issues.append(Issue(f"YAML 格式错误：{exc}", file=file))
    return {}


def _top_keys(doc, allowed: set[str], file: str) -> list[Issue]:
    from pipelines.catalog.suggest import did_you_mean
    if not isinstance(doc, dict):
        return [Issue("应为键值对（YAML 映射）", file=file)]
    return [Issue(f"未知字段“{k}”{did_you_mean(k, allowed)}（允许的字段：{'、'.join(sorted(allowed))}）",
                  file=file, field=str(k)) for k in doc if k not in allowed]


def read_catalog(directory: Path | str = TARGETS_DIR) -> Catalog:
    """Read and validate all of targets/. Raises CatalogError listing every issue."""
    directory = Path(directory)
    issues: list[Issue] = []
    doc = _read_yaml(directory / "indicators.yaml", "indicators.yaml", issues)
    issues += _top_keys(doc, {"indicators"}, "indicators.yaml")
    indicators, found = check_indicators(doc.get("indicators") if isinstance(doc, dict) else None,
                                         "indicators.yaml")
    issues += found
    doc = _read_yaml(directory / "regions.yaml", "regions.yaml", issues)
    issues += _top_keys(doc, {"jurisdictions"}, "regions.yaml")
    regions, found = flatten_regions(doc.get("jurisdictions") if isinstance(doc, dict) else None,
                                     "regions.yaml")
    issues += found
    ind_by_code = {i.code: i for i in indicators}
    region_by_code = {r.code: r for r in regions}
    cat = Catalog(indicators=indicators, regions=regions)
    plan_codes = set()
    plan_files = sorted((directory / "plans").glob("*.yaml"))
    if not plan_files:
        issues.append(Issue("没有任何目标方案文件", file="plans/"))
    for path in plan_files:
        fname = f"plans/{path.name}"
        checked = check_plan(_read_yaml(path, fname, issues), fname, ind_by_code, region_by_code)
        issues += checked.issues
        plan = checked.plan
        if plan is None:
            continue
        if plan.code in plan_codes:
            issues.append(Issue(f"方案编码 {plan.code} 与其他文件重复", file=fname, field="code"))
        plan_codes.add(plan.code)
        cat.plans.append(plan)
        cat.targets.extend(checked.targets)
        cat.baselines.extend(checked.baselines)
        clash = {r.indicator_code for r in checked.reporting} & {
            r.indicator_code for r in cat.reporting if r.jurisdiction_code == plan.jurisdiction}
        for ind in sorted(clash):
            issues.append(Issue(f"指标 {ind} 的报送分工已在同一辖区的另一方案中规定", file=fname,
                                field="reporting"))
        cat.reporting.extend(checked.reporting)
    if issues:
        raise CatalogError(issues)
    return cat


def warehouse_indicators(con) -> dict[str, Indicator]:
    """The indicators in the warehouse (code → the catalog's Indicator)."""
    cur = con.execute("SELECT code, name, unit, kind, frequency, aggregation, direction, numerator_label, "
                      "denominator_label, is_share, tolerance, source FROM indicators ORDER BY sort_order")
    names = [d[0] for d in cur.description]
    return {r[0]: Indicator.from_row(dict(zip(names, r))) for r in cur.fetchall()}


def warehouse_regions(con) -> dict[str, Region]:
    """The regions in the warehouse, active or not (code → the catalog's Region)."""
    return {r[0]: Region(code=r[0], name=r[1], parent_code=r[2], jurisdiction_code=r[3], level=r[4],
                         depth=r[5], sort_order=r[6])
            for r in con.execute("SELECT code, name, parent_code, jurisdiction_code, level, depth, "
                                 "sort_order FROM regions").fetchall()}


def load_catalog(con, cat: Catalog, origin_prefix: str = "targets/") -> dict:
    """Write the catalog into the warehouse in one transaction. Returns change counts."""
    now = dt.datetime.now()
    stats = {"indicators": len(cat.indicators), "regions": len(cat.regions), "plans": len(cat.plans),
             "targets_new": 0, "targets_changed": 0, "targets_retired": 0, "baselines_changed": 0}
    with transaction(con):
        con.execute("DELETE FROM indicator_aliases")
        con.execute("DELETE FROM region_aliases")
        for order, ind in enumerate(cat.indicators):
            con.execute("INSERT OR REPLACE INTO indicators VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", [
                ind.code, ind.name, ind.unit, ind.kind, ind.frequency, ind.aggregation,
                ind.direction, ind.numerator_label, ind.denominator_label, ind.is_share, ind.scale,
                ind.tolerance_or_default, ind.source, order])
            for alias in {ind.name, ind.code, *ind.aliases}:
                con.execute("INSERT OR REPLACE INTO indicator_aliases VALUES (?, ?)", [alias, ind.code])
        for r in cat.regions:
            con.execute("INSERT OR REPLACE INTO regions VALUES (?,?,?,?,?,?,?,TRUE)", [
                r.code, r.name, r.parent_code, r.jurisdiction_code, r.level, r.depth, r.sort_order])
            for alias in r.aliases:
                con.execute("INSERT OR REPLACE INTO region_aliases VALUES (?, ?)", [alias, r.code])
        stats["region_edits_kept"] = replay_region_edits(con)
        for p in cat.plans:
            row = p.row()
            con.execute("INSERT OR REPLACE INTO plans VALUES (?,?,?,?,?,?,?,?)", [
                row["code"], row["title"], row["doc_number"], row["issued"], row["jurisdiction_code"],
                row["year_from"], row["year_to"], row["source_file"]])
        issued = {p.code: p.issued for p in cat.plans}
        stats.update(_load_versioned(con, "targets", "target_key", [t.row() for t in cat.targets], now,
                                     origin_prefix, TARGET_COMPARE, issued))
        b = _load_versioned(con, "baselines", "baseline_key", [x.row() for x in cat.baselines], now,
                            origin_prefix, BASELINE_COMPARE, issued)
        con.execute("DELETE FROM reporting")
        for r in cat.reporting:
            con.execute("INSERT INTO reporting (jurisdiction_code, indicator_code, reported_by, "
                        "reason) VALUES (?, ?, ?, ?)", [r.jurisdiction_code, r.indicator_code,
                                                        r.reported_by, r.reason])
        stats["figures_stale"] = _mark_figures_if_changed(con, cat, stats["region_edits_kept"])
        stats["baselines_changed"] = b["targets_new"] + b["targets_changed"] + b["targets_retired"]
    return stats


EDIT_FIELDS = ("code", "name", "parent_code", "jurisdiction_code", "level", "depth", "sort_order",
               "aliases")


def replay_region_edits(con) -> int:
    """Apply the web's region edits (`region_edits`, written by region_sheets.apply_regions),
    oldest first, over the tree just loaded from targets/ (inside the caller's transaction).
    Returns how many edits were replayed."""
    edits = con.execute("SELECT code, change, region FROM region_edits ORDER BY edit_id").fetchall()
    for code, change, region in edits:
        if change == "停用":
            con.execute("UPDATE regions SET active = FALSE WHERE code = ?", [code])
            continue
        r = json.loads(region)
        con.execute("INSERT OR REPLACE INTO regions VALUES (?,?,?,?,?,?,?,TRUE)", [
            r["code"], r["name"], r["parent_code"], r["jurisdiction_code"], r["level"], r["depth"],
            r["sort_order"]])
        con.execute("DELETE FROM region_aliases WHERE region_code = ?", [r["code"]])
        for alias in r["aliases"]:
            con.execute("INSERT OR REPLACE INTO region_aliases VALUES (?, ?)", [alias, r["code"]])
    return len(edits)


def _mark_figures_if_changed(con, cat: Catalog, region_edits: int) -> bool:
    """Everything the figures table holds depends on the catalog: when what was just loaded
    differs from what the table was built from (a fingerprint in settings), mark it all stale."""
    import hashlib

    from pipelines.metrics.figure_table import RULES_VERSION, mark_all
    web = con.execute("SELECT count(*), max(valid_from) FROM targets WHERE origin LIKE 'web:%'").fetchone()
    doc = json.dumps([RULES_VERSION, *([x.model_dump() for x in part] for part in (
                          cat.indicators, cat.regions, cat.plans, cat.targets, cat.baselines,
                          cat.reporting)), region_edits, [str(x) for x in web]], sort_keys=True, default=str,
                     ensure_ascii=False)
    digest = hashlib.sha256(doc.encode()).hexdigest()
    row = con.execute("SELECT value FROM settings WHERE key = 'figures.catalog'").fetchone()
    built = con.execute("SELECT count(*) FROM figure_coverage WHERE snapshot_id = 0").fetchone()[0]
    if row is not None and row[0] == digest and built:
        return False
    mark_all(con)
    con.execute("INSERT OR REPLACE INTO settings VALUES ('figures.catalog', ?)", [digest])
    return True


def _load_versioned(con, table: str, key_col: str, rows: list[dict], now, origin_prefix: str,
                    compare: tuple[str, ...], issued: dict) -> dict:
    """Insert new rows, version changed ones, retire file rows that are gone.

    A row seen for the first time is known from its plan's issue date (`issued`, plan code →
    date), so replaying any meeting after the plan was issued shows it (DESIGN "Targets"); a
    changed row, a returning one and a retirement are known from now, the time of the edit.
    """
    cur = con.execute(f"SELECT * FROM {table} WHERE valid_to IS NULL")
    names = [d[0] for d in cur.description]
    current = [dict(zip(names, r)) for r in cur.fetchall()]
    by_key = {r[key_col]: r for r in current}
    ever = {k for (k,) in con.execute(f"SELECT DISTINCT {key_col} FROM {table}").fetchall()}
    stats = {"targets_new": 0, "targets_changed": 0, "targets_retired": 0}
    wanted = set()
    for row in rows:
        key = row[key_col]
        wanted.add(key)
        old = by_key.get(key)
        if old is not None and str(old["origin"]).startswith("web:"):
            continue  # maintained by the bureau through the app: the file is only the default
        if old is not None and all(_same(old[c], row.get(c)) for c in compare):
            continue
        if old is not None:
            con.execute(f"UPDATE {table} SET valid_to = ? WHERE {key_col} = ? AND valid_to IS NULL",
                        [now, key])
            stats["targets_changed"] += 1
        else:
            stats["targets_new"] += 1
        known = now
        if key not in ever and issued.get(row["plan_code"]) is not None:
            known = min(now, dt.datetime.combine(issued[row["plan_code"]], dt.time()))
        cols = [c for c in row if c != "origin"]
        con.execute(
            f"INSERT INTO {table} ({', '.join(cols)}, origin, valid_from) VALUES "
            f"({', '.join('?' for _ in cols)}, ?, ?)",
            [row[c] for c in cols] + [origin_prefix + row["plan_code"], known])
    for key, old in by_key.items():
        if key not in wanted and str(old["origin"]).startswith(origin_prefix):
            con.execute(f"UPDATE {table} SET valid_to = ? WHERE {key_col} = ? AND valid_to IS NULL",
                        [now, key])
            stats["targets_retired"] += 1
    return stats


def _same(a, b) -> bool:
    if a is None:
        return b is None
    if isinstance(a, dt.datetime):
        a = a.date()
    if isinstance(a, float) and isinstance(b, int | float):
        return abs(a - float(b)) < 1e-9
    return a == b
