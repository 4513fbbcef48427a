"""Read `targets/` (indicators, region trees, target plans), validate it, load it.

Validation collects *every* problem, each naming its file and key, before anything is written
(MetricFlow-style). Loading is idempotent: unchanged definitions change nothing; a changed
target closes its earlier version (`valid_to`) and opens a new one, so history is kept.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipelines.catalog.suggest import did_you_mean
from pipelines.db import transaction
from pipelines.periods import PeriodError, parse_period

TARGETS_DIR = Path(__file__).resolve().parents[2] / "targets"

UNITS = {"%", "家", "个", "项", "工作日", "次"}
KINDS = {"ratio", "count", "mean"}
FREQUENCIES = {"月度", "季度", "年度"}
AGGREGATIONS = {"flow", "stock"}
DIRECTIONS = {"higher", "lower"}
COMPARATORS = {">=", "<="}
BASES = {"period", "ytd", "year"}
JUDGES = {"hold", "reach"}
REPORTERS = {"units", "self", "every_level"}
DEFAULT_TIER = "基本目标"

# Keys each kind of entry may carry; anything else is a typo the loader names (a plan with
# `bais: ytd` must not load silently as basis `period`).
PLAN_FILE_KEYS = {"plan", "targets", "baselines", "reporting"}
PLAN_KEYS = {"code", "title", "doc_number", "issued", "jurisdiction", "years", "seed"}
TARGET_KEYS = {"indicator", "region", "comparator", "value", "year", "deadline", "from", "tier",
               "effective", "basis", "judge", "clause", "text"}
BASELINE_KEYS = {"indicator", "region", "period", "value", "clause"}
REPORTING_KEYS = {"indicator", "by", "reason"}
INDICATOR_KEYS = {"code", "name", "aliases", "unit", "kind", "frequency", "aggregation",
                  "direction", "numerator_label", "denominator_label", "share", "tolerance",
                  "source"}
REGION_KEYS = {"code", "name", "level", "aliases", "children"}


def default_judge(kind: str | None, timing: str) -> str:
    """DESIGN "How a target judges a figure": counts with a deadline are a level to reach by it;
    rates and means (and standing counts) must hold in every period."""
    return "reach" if kind == "count" and timing in ("year", "deadline") else "hold"


def _unknown_keys(entry, allowed: set[str], where: str, problems: list[str]) -> None:
    if not isinstance(entry, dict):
        problems.append(f"{where}: 应为键值对（YAML 映射）")
        return
    for key in entry:
        if key not in allowed:
            problems.append(f"{where}: 未知字段“{key}”{did_you_mean(key, allowed)}"
                            f"（允许的字段：{'、'.join(sorted(allowed))}）")


class CatalogError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("targets/ 中发现 %d 个问题：\n" % len(problems) + "\n".join(problems))


@dataclass
class Catalog:
    indicators: list[dict] = field(default_factory=list)
    regions: list[dict] = field(default_factory=list)        # flattened, with parent/jurisdiction
    plans: list[dict] = field(default_factory=list)
    targets: list[dict] = field(default_factory=list)
    baselines: list[dict] = field(default_factory=list)
    reporting: list[dict] = field(default_factory=list)      # who reports what (per jurisdiction)


def _read_yaml(path: Path, problems: list[str]):
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh) or {}
    except FileNotFoundError:
        problems.append(f"{path.name}: 文件不存在")
    except yaml.YAMLError as exc:
        problems.append(f"{path.name}: YAML 格式错误：{exc}")
    return {}


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _check_indicators(doc, fname: str, problems: list[str]) -> list[dict]:
    out, seen, aliases = [], set(), {}
    for i, ind in enumerate(doc.get("indicators") or []):
        code = ind.get("code") if isinstance(ind, dict) else None
        where = f"{fname}: 指标 {code or '#%d' % (i + 1)}"
        _unknown_keys(ind, INDICATOR_KEYS, where, problems)
        if not isinstance(ind, dict):
            continue
        if not code:
            problems.append(f"{where}: 缺少 code")
            continue
        if code in seen:
            problems.append(f"{where}: 指标编码重复")
        seen.add(code)
        for key in ("name", "unit", "kind", "frequency", "aggregation", "direction", "numerator_label"):
            if not ind.get(key):
                problems.append(f"{where}: 缺少 {key}")
        checks = (("unit", UNITS), ("kind", KINDS), ("frequency", FREQUENCIES),
                  ("aggregation", AGGREGATIONS), ("direction", DIRECTIONS))
        for key, allowed in checks:
            if ind.get(key) and ind[key] not in allowed:
                problems.append(f"{where}: {key} “{ind[key]}” 不在允许的取值 {sorted(allowed)} 中")
        if ind.get("kind") in ("ratio", "mean") and not ind.get("denominator_label"):
            problems.append(f"{where}: {ind.get('kind')} 类指标需要 denominator_label（分母名称）")
        if ind.get("kind") == "count" and ind.get("denominator_label"):
            problems.append(f"{where}: count 类指标不应有分母")
        if ind.get("unit") == "%" and ind.get("kind") != "ratio":
            problems.append(f"{where}: 单位为 % 的指标必须是 ratio 类")
        for alias in [ind.get("name"), *(ind.get("aliases") or [])]:
            if alias in aliases and aliases[alias] != code:
                problems.append(f"{where}: 名称或别名“{alias}”已用于指标 {aliases[alias]}")
            aliases[alias] = code
        out.append(ind)
    if not out:
        problems.append(f"{fname}: 没有任何指标")
    return out


def _flatten_regions(doc, fname: str, problems: list[str], strict: bool = False) -> list[dict]:
    """The region trees, flattened; `strict` (targets/regions.yaml) also names unknown keys."""
    out, seen, names = [], set(), {}

    def walk(node, parent, jurisdiction, depth):
        code = str(node.get("code") or "").strip()
        name = str(node.get("name") or "").strip()
        where = f"{fname}: 地区 {code or name or '?'}"
        if strict:
            _unknown_keys(node, REGION_KEYS, where, problems)
        if not code or not name:
            problems.append(f"{where}: 需要 code 和 name")
            return
        if code in seen:
            problems.append(f"{where}: 地区编码重复")
        seen.add(code)
        jur = jurisdiction or code
        for alias in [name, *(node.get("aliases") or [])]:
            key = (jur, str(alias))
            if key in names and names[key] != code:
                problems.append(f"{where}: 名称或别名“{alias}”在同一辖区内已用于 {names[key]}")
            names[key] = code
        out.append({"code": code, "name": name, "parent_code": parent, "jurisdiction_code": jur,
                    "level": node.get("level"), "depth": depth, "sort_order": len(out),
                    "aliases": [str(a) for a in node.get("aliases") or []]})
        for child in node.get("children") or []:
            walk(child, code, jur, depth + 1)

    for root in doc.get("jurisdictions") or []:
        walk(root, None, None, 0)
    if not out:
        problems.append(f"{fname}: 没有任何地区")
    return out


def _target_timing(t: dict, where: str, problems: list[str]):
    given = [k for k in ("year", "deadline", "from") if t.get(k) is not None]
    if len(given) != 1:
        problems.append(f"{where}: year、deadline、from 必须且只能填一个（现为 {given or '都没有'}）")
        return None
    kind = given[0]
    if kind == "year":
        try:
            y = int(t["year"])
        except (TypeError, ValueError):
            problems.append(f"{where}: year “{t['year']}” 不是年份")
            return None
        return kind, y, dt.date(y, 12, 31)
    d = _as_date(t[kind])
    if d is None:
        problems.append(f"{where}: {kind} “{t[kind]}” 不是日期（应为 YYYY-MM-DD）")
        return None
    return kind, d.year, (d if kind == "deadline" else None)


def _check_plan(doc, fname: str, ind_by_code: dict, region_by_code: dict,
                problems: list[str]) -> tuple[dict | None, list[dict], list[dict], list[dict]]:
    """(plan row, targets, baselines, reporting) of one plan document; problems appended."""
    _unknown_keys(doc, PLAN_FILE_KEYS, fname, problems)
    plan = doc.get("plan") or {}
    code = plan.get("code")
    where = f"{fname}: 方案 {code or '?'}"
    _unknown_keys(plan, PLAN_KEYS, f"{where}: plan", problems)
    for key in ("code", "title", "jurisdiction", "years"):
        if not plan.get(key):
            problems.append(f"{where}: plan 缺少 {key}")
    jur = str(plan.get("jurisdiction") or "")
    if jur and jur not in region_by_code:
        problems.append(f"{where}: 辖区 {jur} 不在 regions.yaml 中")
    years = plan.get("years") or []
    if not (isinstance(years, list) and len(years) == 2 and all(isinstance(y, int) for y in years)):
        problems.append(f"{where}: years 应为 [起始年, 结束年]")
        years = None
    issued = _as_date(plan.get("issued")) if plan.get("issued") else None
    if plan.get("issued") and issued is None:
        problems.append(f"{where}: issued “{plan.get('issued')}” 不是日期")
    if not code:
        return None, [], [], []
    plan_row = {"code": code, "title": plan.get("title"), "doc_number": plan.get("doc_number"),
                "issued": issued, "jurisdiction_code": jur,
                "year_from": years[0] if years else 0, "year_to": years[1] if years else 0,
                "source_file": plan.get("seed")}

    def in_jurisdiction(region_code: str) -> bool:
        r = region_by_code.get(region_code)
        return r is not None and r["jurisdiction_code"] == region_by_code.get(jur, {}).get("jurisdiction_code")

    targets, keys = [], set()
    for i, t in enumerate(doc.get("targets") or []):
        ind, reg = t.get("indicator"), str(t.get("region") or "")
        twhere = f"{fname}: 目标 #{i + 1} ({ind} @ {reg})"
        ok = True
        _unknown_keys(t, TARGET_KEYS, twhere, problems)
        if ind not in ind_by_code:
            problems.append(f"{twhere}: 未知指标 {ind}")
            ok = False
        if reg not in region_by_code:
            problems.append(f"{twhere}: 未知地区 {reg}")
            ok = False
        elif jur in region_by_code and not in_jurisdiction(reg):
            problems.append(f"{twhere}: 地区 {reg} 不属于本方案辖区 {jur}")
            ok = False
        if t.get("comparator") not in COMPARATORS:
            problems.append(f"{twhere}: comparator 应为 >= 或 <=（现为 {t.get('comparator')}）")
            ok = False
        value = t.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{twhere}: value “{value}” 不是数字")
            ok = False
        elif ind in ind_by_code and ind_by_code[ind]["unit"] == "%" and not 0 <= value <= 100:
            problems.append(f"{twhere}: 百分比目标 {value} 不在 0–100 之间")
            ok = False
        basis = t.get("basis", "period")
        if basis not in BASES:
            problems.append(f"{twhere}: basis “{basis}” 应为 period、ytd 或 year")
            ok = False
        timing = _target_timing(t, twhere, problems)
        if timing is None:
            continue
        kind, year_from, deadline = timing
        if years and not years[0] <= year_from <= years[1]:
            problems.append(f"{twhere}: 期限 {year_from} 年不在方案年限 {years[0]}–{years[1]} 内")
            ok = False
        if ind in ind_by_code and ind_by_code[ind]["direction"] == "lower" and t.get("comparator") == ">=":
            problems.append(f"{twhere}: 指标越低越好，目标比较符应为 <=")
            ok = False
        if ind in ind_by_code and ind_by_code[ind]["direction"] == "higher" and t.get("comparator") == "<=":
            problems.append(f"{twhere}: 指标越高越好，目标比较符应为 >=")
            ok = False
        effective = _as_date(t.get("effective")) if t.get("effective") else None
        if t.get("effective") and effective is None:
            problems.append(f"{twhere}: effective “{t.get('effective')}” 不是日期")
            ok = False
        if effective is None:
            effective = _as_date(t["from"]) if kind == "from" else dt.date(year_from, 1, 1)
        judge = t.get("judge") or default_judge(ind_by_code.get(ind, {}).get("kind"), kind)
        if judge not in JUDGES:
            problems.append(f"{twhere}: judge “{judge}” 应为 hold（每期保持）或 reach（到期达到）")
            ok = False
        tier = t.get("tier") or DEFAULT_TIER
        timing_text = {"year": str(year_from), "deadline": str(deadline),
                       "from": f"from {effective}"}[kind]
        key = "|".join([code, str(ind), reg, tier, timing_text, str(effective)])
        if key in keys:
            problems.append(f"{twhere}: 与前面的目标重复（同指标、地区、档次、期限、生效日期）")
            ok = False
        keys.add(key)
        if ok:
            targets.append({"target_key": key, "plan_code": code, "indicator_code": ind,
                            "region_code": reg, "tier": tier, "comparator": t["comparator"],
                            "value": float(value), "timing": kind, "year_from": year_from,
                            "deadline": deadline, "effective": effective, "basis": basis, "judge": judge,
                            "clause": t.get("clause"), "text": t.get("text")})

    baselines = []
    for i, b in enumerate(doc.get("baselines") or []):
        ind, reg = b.get("indicator"), str(b.get("region") or "")
        bwhere = f"{fname}: 基期值 #{i + 1} ({ind} @ {reg})"
        _unknown_keys(b, BASELINE_KEYS, bwhere, problems)
        ok = ind in ind_by_code and reg in region_by_code
        if ind not in ind_by_code:
            problems.append(f"{bwhere}: 未知指标 {ind}")
        if reg not in region_by_code:
            problems.append(f"{bwhere}: 未知地区 {reg}")
        try:
            period = parse_period(str(b.get("period")))
        except PeriodError as exc:
            problems.append(f"{bwhere}: {exc}")
            ok = False
        if not isinstance(b.get("value"), int | float):
            problems.append(f"{bwhere}: value “{b.get('value')}” 不是数字")
            ok = False
        if ok:
            baselines.append({"baseline_key": f"{code}|{ind}|{reg}|{period.code}", "plan_code": code,
                              "indicator_code": ind, "region_code": reg, "period": period.code,
                              "value": float(b["value"]), "clause": b.get("clause")})
    reporting = _check_reporting(doc.get("reporting") or [], fname, jur, ind_by_code, targets,
                                 region_by_code, problems)
    return plan_row, targets, baselines, reporting


def _check_reporting(entries, fname: str, jur: str, ind_by_code: dict, targets: list[dict],
                     region_by_code: dict, problems: list[str]) -> list[dict]:
    """Who reports what (DESIGN "Who reports what"): `by` units (default) | self | every_level.

    `self`: the jurisdiction's own bureau reports the one figure (no unit owes it, so a target
    on a unit contradicts it); `every_level`: every region reports its own figure, never a
    roll-up. Each entry must say why (`reason`), from the plan's wording.
    """
    out, seen = [], set()
    if not isinstance(entries, list):
        problems.append(f"{fname}: reporting 应为列表")
        return out
    for i, e in enumerate(entries):
        where = f"{fname}: 报送分工 #{i + 1} ({e.get('indicator') if isinstance(e, dict) else '?'})"
        _unknown_keys(e, REPORTING_KEYS, where, problems)
        if not isinstance(e, dict):
            continue
        ind, by, reason = e.get("indicator"), e.get("by"), str(e.get("reason") or "").strip()
        ok = True
        if ind not in ind_by_code:
            problems.append(f"{where}: 未知指标 {ind}")
            ok = False
        if by not in REPORTERS:
            problems.append(f"{where}: by “{by}” 应为 units（下级单位报送）、self（本级报送）或 every_level（各级各报）")
            ok = False
        if not reason:
            problems.append(f"{where}: 缺少 reason（按方案原文说明为什么由这一级报送）")
            ok = False
        if ind in seen:
            problems.append(f"{where}: 同一指标的报送分工重复")
            ok = False
        seen.add(ind)
        if by == "self":
            below = sorted(t["region_code"] for t in targets
                           if t["indicator_code"] == ind and t["region_code"] != jur)
            if below:
                problems.append(f"{where}: 该指标由本级（{jur}）报送，但下级地区 {'、'.join(below)} 也设有目标")
                ok = False
        if ok:
            out.append({"jurisdiction_code": jur, "indicator_code": ind, "reported_by": by,
                        "reason": reason})
    return out


def read_catalog(directory: Path | str = TARGETS_DIR) -> Catalog:
    """Read and validate all of targets/. Raises CatalogError listing every problem."""
    directory = Path(directory)
    problems: list[str] = []
    indicators = _check_indicators(_read_yaml(directory / "indicators.yaml", problems),
                                   "indicators.yaml", problems)
    regions = _flatten_regions(_read_yaml(directory / "regions.yaml", problems), "regions.yaml", problems,
                               strict=True)
    ind_by_code = {i["code"]: i for i in indicators}
    region_by_code = {r["code"]: r for r in regions}
    cat = Catalog(indicators=indicators, regions=regions)
    plan_codes = set()
    plan_files = sorted((directory / "plans").glob("*.yaml"))
    if not plan_files:
        problems.append("plans/: 没有任何目标方案文件")
    for path in plan_files:
        fname = f"plans/{path.name}"
        plan, targets, baselines, reporting = _check_plan(_read_yaml(path, problems), fname,
                                                          ind_by_code, region_by_code, problems)
        if plan is None:
            continue
        if plan["code"] in plan_codes:
            problems.append(f"{fname}: 方案编码 {plan['code']} 与其他文件重复")
        plan_codes.add(plan["code"])
        cat.plans.append(plan)
        cat.targets.extend(targets)
        cat.baselines.extend(baselines)
        clash = {r["indicator_code"] for r in reporting} & {
            r["indicator_code"] for r in cat.reporting if r["jurisdiction_code"] == plan["jurisdiction_code"]}
        for ind in sorted(clash):
            problems.append(f"{fname}: 指标 {ind} 的报送分工已在同一辖区的另一方案中规定")
        cat.reporting.extend(reporting)
    if problems:
        raise CatalogError(problems)
    return cat


def _scale(ind: dict) -> float:
    return 100.0 if ind["unit"] == "%" else 1.0


def _tolerance(ind: dict) -> float:
    if ind.get("tolerance") is not None:
        return float(ind["tolerance"])
    return 2.0 if ind["unit"] == "%" else 0.05


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
                ind["code"], ind["name"], ind["unit"], ind["kind"], ind["frequency"],
                ind["aggregation"], ind["direction"], ind["numerator_label"],
                ind.get("denominator_label"), bool(ind.get("share", False)), _scale(ind),
                _tolerance(ind), ind.get("source"), order])
            for alias in {ind["name"], ind["code"], *(ind.get("aliases") or [])}:
                con.execute("INSERT OR REPLACE INTO indicator_aliases VALUES (?, ?)", [alias, ind["code"]])
        for r in cat.regions:
            con.execute("INSERT OR REPLACE INTO regions VALUES (?,?,?,?,?,?,?,TRUE)", [
                r["code"], r["name"], r["parent_code"], r["jurisdiction_code"], r["level"],
                r["depth"], r["sort_order"]])
            for alias in r["aliases"]:
                con.execute("INSERT OR REPLACE INTO region_aliases VALUES (?, ?)", [alias, r["code"]])
        from pipelines.catalog.region_sheets import replay_region_edits
        stats["region_edits_kept"] = replay_region_edits(con)
        for p in cat.plans:
            con.execute("INSERT OR REPLACE INTO plans VALUES (?,?,?,?,?,?,?,?)", [
                p["code"], p["title"], p["doc_number"], p["issued"], p["jurisdiction_code"],
                p["year_from"], p["year_to"], p["source_file"]])
        issued = {p["code"]: p["issued"] for p in cat.plans}
        stats.update(_load_versioned(con, "targets", "target_key", cat.targets, now, origin_prefix,
                                     TARGET_COMPARE, issued))
        b = _load_versioned(con, "baselines", "baseline_key", cat.baselines, now, origin_prefix,
                            ("value", "clause"), issued)
        con.execute("DELETE FROM reporting")
        for r in cat.reporting:
            con.execute("INSERT INTO reporting (jurisdiction_code, indicator_code, reported_by, "
                        "reason) VALUES (?, ?, ?, ?)", [r["jurisdiction_code"], r["indicator_code"],
                                                        r["reported_by"], r["reason"]])
        stats["figures_stale"] = _mark_figures_if_changed(con, cat, stats["region_edits_kept"])
        stats["baselines_changed"] = b["targets_new"] + b["targets_changed"] + b["targets_retired"]
    return stats


def _mark_figures_if_changed(con, cat: Catalog, region_edits: int) -> bool:
    """Everything the figures table holds depends on the catalog: when what was just loaded
    differs from what the table was built from (a fingerprint in settings), mark it all stale."""
    import hashlib
    import json

    from pipelines.metrics.figure_table import RULES_VERSION, mark_all
    web = con.execute("SELECT count(*), max(valid_from) FROM targets WHERE origin LIKE 'web:%'").fetchone()
    doc = json.dumps([RULES_VERSION, cat.indicators, cat.regions, cat.plans, cat.targets, cat.baselines,
                      cat.reporting, region_edits, [str(x) for x in web]], sort_keys=True, default=str,
                     ensure_ascii=False)
    digest = hashlib.sha256(doc.encode()).hexdigest()
    row = con.execute("SELECT value FROM settings WHERE key = 'figures.catalog'").fetchone()
    built = con.execute("SELECT count(*) FROM figure_coverage WHERE snapshot_id = 0").fetchone()[0]
    if row is not None and row[0] == digest and built:
        return False
    mark_all(con)
    con.execute("INSERT OR REPLACE INTO settings VALUES ('figures.catalog', ?)", [digest])
    return True


# Target fields whose change makes a new version (the key holds the rest).
TARGET_COMPARE = ("comparator", "value", "basis", "judge", "clause", "text", "deadline",
                  "year_from", "timing", "effective")


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
