"""Synthetic but plausible return values for the demo (示例数据), 2022-01 to 2025-12.

The generator reads the warehouse (regions, indicators, targets, baselines loaded from targets/)
and produces, for every district directly under each jurisdiction, the values of the indicators
relevant to that jurisdiction at their reporting frequency. Trends head toward each plan's
targets; a few districts per jurisdiction lag persistently (so 未达标 streaks exist) and one
catches up only from 2024. Flow values carry seasonality and noise; stock values drift upward.

Everything is deterministic: each random draw comes from a generator seeded by a hash of
(SEED, region, indicator, period …), so the numbers do not depend on iteration order.
"""
from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

from pipelines.catalog.definitions import warehouse_indicators
from pipelines.catalog.model import Indicator
from pipelines.demo.profiles import DEFAULT_PROFILE, PROFILES, Profile
from pipelines.periods import Period, month, parse_period, quarter, year

SEED = "ybjc-demo-v1"
FIRST_YEAR, LAST_YEAR = 2022, 2025
N_MONTHS = (LAST_YEAR - FIRST_YEAR + 1) * 12
# Settlement / case volumes by calendar month (Spring Festival dip, year-end peak).
MAX_SLOPE = 4.0   # pp per month a rate may climb on its way to a target
SEASON = (1.04, 0.88, 1.00, 0.98, 0.97, 1.00, 1.03, 1.02, 0.98, 0.92, 1.01, 1.12)
# City totals deliberately short of a count target in one year: (jurisdiction, indicator) → year.
CITY_SHORTFALLS = {("331081", "village_demo_sites"): 2024,
                   ("331081", "chronic_cross_province_facilities"): 2023}
# Quarters with no business at all in a small unit (分子 0, 分母 0 → status 无业务), so that the
# demo shows one in both views its tests check (2024Q2, 2025Q4).
NO_BUSINESS = {("370800902", "transfer_days", "2024Q2"), ("370800902", "transfer_days", "2025Q4"),
               ("331081016", "inpatient_cross_province_rate", "2024Q2")}




@dataclass(frozen=True)
class DemoValue:
    region_code: str
    indicator_code: str
    period: Period
    numerator: int
    denominator: int | None


@dataclass(frozen=True)
class Unit:
    """A reporting district directly under a jurisdiction."""
    code: str
    name: str
    jurisdiction: str
    size: float      # 1.0 ≈ an average county; a town or street ≈ 0.1
    role: str        # good | laggard (behind throughout) | bloomer (behind until 2023)


@dataclass(frozen=True)
class Anchor:
    month: int       # month index (0 = 2022-01) by which the value is due
    year: int        # the year whose periods it applies to first
    value: float
    timing: str


def rng_for(*keys) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, (SEED, *keys))).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def month_index(y: int, m: int) -> int:
    return (y - FIRST_YEAR) * 12 + m - 1


def periods_for(frequency: str) -> list[Period]:
    """Every period of the demo span at a frequency (月度 → months, 季度 → quarters, 年度 → years)."""
    years = range(FIRST_YEAR, LAST_YEAR + 1)
    if frequency == "月度":
        return [month(y, m) for y in years for m in range(1, 13)]
    if frequency == "季度":
        return [quarter(y, q) for y in years for q in range(1, 5)]
    return [year(y) for y in years]


# ---------------------------------------------------------------- reading the warehouse

@dataclass
class DemoModel:
    """Everything the generator needs, read once from the warehouse."""
    units: dict[str, list[Unit]]                  # jurisdiction → districts (plan order)
    indicators: dict[str, Indicator]
    relevant: dict[str, list[str]]                # jurisdiction → indicator codes (catalog order)
    anchors: dict[tuple[str, str], list[Anchor]]  # (region scope, indicator) → targets
    baselines: dict[tuple[str, str], tuple[int, float]]
    parents: dict[str, str | None]
    names: dict[str, str]                         # region code → name
    reported_by: dict[tuple[str, str], str] = None  # (jurisdiction, indicator) → units|self|every_level

    def mode(self, jurisdiction: str, indicator: str) -> str:
        return (self.reported_by or {}).get((jurisdiction, indicator), "units")

    def bureau(self, jurisdiction: str) -> Unit:
        """The jurisdiction's own bureau as a reporting unit (for what it reports itself)."""
        return Unit(jurisdiction, self.names[jurisdiction], jurisdiction, 1.0, "good")

    @classmethod
    def from_warehouse(cls, con) -> "DemoModel":
        regions = con.execute("SELECT code, name, parent_code, jurisdiction_code, level, depth "
                              "FROM regions WHERE active ORDER BY sort_order").fetchall()
        parents = {r[0]: r[2] for r in regions}
        units: dict[str, list[Unit]] = {}
        for code, name, parent, jur, level, depth in regions:
            if depth == 0:
                units.setdefault(code, [])
            elif parent == jur:
                units.setdefault(jur, []).append(Unit(code, name, jur, _size(code, level), "good"))
        units = {j: _assign_roles(j, us) for j, us in units.items()}
        indicators = warehouse_indicators(con)
        anchors: dict[tuple[str, str], list[Anchor]] = {}
        relevant: dict[str, set[str]] = {}
        for ind, reg, jur, value, timing, year_from, deadline, effective in con.execute(
                "SELECT t.indicator_code, t.region_code, r.jurisdiction_code, t.value, t.timing, "
                "t.year_from, t.deadline, t.effective FROM targets t JOIN regions r "
                "ON r.code = t.region_code WHERE t.valid_to IS NULL AND t.tier = '基本目标' "
                "ORDER BY t.indicator_code, t.region_code, t.year_from, t.effective").fetchall():
            relevant.setdefault(jur, set()).add(ind)
            if timing == "year":
                m = month_index(year_from, 12)
            elif timing == "deadline":
                m = month_index(deadline.year, deadline.month)
            else:
                m = month_index(effective.year, effective.month)
            anchors.setdefault((reg, ind), []).append(
                Anchor(min(max(m, 0), N_MONTHS - 1), year_from, float(value), timing))
        baselines = {}
        for ind, reg, period, value in con.execute(
                "SELECT indicator_code, region_code, period, value FROM baselines "
                "WHERE valid_to IS NULL").fetchall():
            p = parse_period(period)
            baselines[(reg, ind)] = (month_index(p.year, p.month_to), float(value))
        order = list(indicators)
        reported_by = {(j, i): by for j, i, by in con.execute(
            "SELECT jurisdiction_code, indicator_code, reported_by FROM reporting").fetchall()}
        return cls(units, indicators,
                   {j: sorted(codes, key=order.index) for j, codes in relevant.items()},
                   {k: sorted(v, key=lambda a: (a.month, a.year)) for k, v in anchors.items()},
                   baselines, parents, {r[0]: r[1] for r in regions}, reported_by)

    def scope_of(self, unit: Unit, indicator: str) -> str | None:
        """The region whose targets apply to the unit (its own, else the nearest ancestor's)."""
        code: str | None = unit.code
        while code is not None:
            if (code, indicator) in self.anchors:
                return code
            code = self.parents.get(code)
        return None


def _size(code: str, level: str | None) -> float:
    r = rng_for(code, "size")
    if level in ("街道", "镇", "乡"):
        return r.uniform(0.07, 0.15)
    if level in ("开发区", "新区"):
        return r.uniform(0.2, 0.35)
    return r.uniform(0.6, 1.5)


def _assign_roles(jurisdiction: str, units: list[Unit]) -> list[Unit]:
    if len(units) < 3:
        return units
    n_lag = max(1, round(len(units) / 7))
    picked = rng_for(jurisdiction, "roles").sample([u.code for u in units], n_lag + 1)
    roles = {c: "laggard" for c in picked[:n_lag]} | {picked[-1]: "bloomer"}
    return [Unit(u.code, u.name, u.jurisdiction, u.size, roles.get(u.code, "good")) for u in units]


# ---------------------------------------------------------------- generation

def generate(model: DemoModel, jurisdictions: list[str] | None = None) -> list[DemoValue]:
    """All demo values, ordered by jurisdiction, indicator, district, period.

    Who sends each value follows who reports what: the units (the default); the jurisdiction's
    own bureau for what it reports itself; both for what every level reports.
    """
    out: list[DemoValue] = []
    for jur in jurisdictions or list(model.units):
        for code in model.relevant.get(jur, []):
            ind = model.indicators[code]
            units = model.units[jur]
            mode = model.mode(jur, code)
            if mode == "self":
                out += _city_total_counts(model, jur, ind, [model.bureau(jur)], capped=False) \
                    if ind.kind == "count" else _unit_values(model, model.bureau(jur), ind)
                continue
            reporters = units + ([model.bureau(jur)] if mode == "every_level" else [])
            if ind.kind == "count" and not any((u.code, code) in model.anchors for u in reporters):
                out += _city_total_counts(model, jur, ind, units)
            else:
                for u in reporters:
                    out += _unit_values(model, u, ind)
    return out


def _is_behind(unit: Unit, indicator: str, y: int) -> bool:
    if unit.role == "laggard":
        return rng_for(unit.code, indicator, "lag").random() < 0.75
    return unit.role == "bloomer" and y <= 2023


def _path(model: DemoModel, unit: Unit, ind: Indicator, prof: Profile) -> list[float]:
    """The unit's underlying level for each month (% for shares, days for means, units for counts)."""
    scope = model.scope_of(unit, ind.code)
    anchors = model.anchors.get((scope, ind.code), []) if scope else []
    sign = 1 if ind.direction == "higher" else -1
    cap_hi = 100.0 if ind.is_share else math.inf
    cap_lo = 1.0 if ind.kind == "mean" else 0.0
    r = rng_for(unit.code, ind.code, "path")
    pct = ind.unit == "%"
    knots: list[tuple[int, float]] = []
    base = model.baselines.get((scope, ind.code)) if scope else None
    if base:
        spread = 2.0 if pct else 0.12 * base[1]
        knots.append((base[0], base[1] + sign * r.uniform(0.0, 1.0) * spread
                      - sign * (spread if unit.role == "laggard" else 0)))
    last_behind = False
    for a in anchors:
        behind = _is_behind(unit, ind.code, a.year)
        if pct:
            off = -r.uniform(2.5, 6.0) if behind else r.uniform(0.5, 4.0)
        else:
            off = (-r.uniform(0.1, 0.3) if behind else r.uniform(0.05, 0.25)) * a.value
        lead = 0 if behind else {"year": 6, "deadline": 2}.get(a.timing, 1)
        m = max(a.month - lead, knots[-1][0] + 1 if knots else 0, 0)
        value = a.value + sign * off
        if knots and pct:  # no more than MAX_SLOPE pp a month (validation warns above 20 pp)
            m = max(m, min(a.month, knots[-1][0] + math.ceil(abs(value - knots[-1][1]) / MAX_SLOPE)))
        knots.append((m, value))
        last_behind = behind
    if not knots:
        knots.append((N_MONTHS - 1, 50.0 if pct else 10.0))
    if knots[0][0] > 0:
        m0, v0 = knots[0]
        knots.insert(0, (0, v0 - sign * prof.climb * (m0 + 1) / 12))
    if last_behind and unit.role == "bloomer" and anchors:
        # Catches up in the first half of 2024.
        t = max(month_index(2024, 6), knots[-1][0] + 1)
        knots.append((t, anchors[-1].value + sign * r.uniform(0.5, 3.0) * (1 if pct else 0.1)))
        last_behind = False
    margin = 0.8 if pct else 0.05 * (anchors[-1].value if anchors else 1)
    ceiling = anchors[-1].value - margin if last_behind and sign > 0 else cap_hi
    floor = anchors[-1].value + margin if last_behind and sign < 0 else cap_lo
    drift = prof.drift * (0.3 if last_behind else 1.0)
    values = []
    for t in range(N_MONTHS):
        v = _interpolate(knots, t)
        if t > knots[-1][0]:
            v = knots[-1][1] + sign * drift * (t - knots[-1][0]) / 12
            v = min(v, max(ceiling, knots[-1][1])) if sign > 0 else max(v, min(floor, knots[-1][1]))
        values.append(min(max(v, cap_lo), cap_hi))
    return values


def _interpolate(knots: list[tuple[int, float]], t: int) -> float:
    if t <= knots[0][0]:
        return knots[0][1]
    for (m0, v0), (m1, v1) in zip(knots, knots[1:]):
        if t <= m1:
            return v0 + (v1 - v0) * (t - m0) / (m1 - m0)
    return knots[-1][1]


def _den_monthly(unit: Unit, ind: Indicator, prof: Profile) -> list[float]:
    """The unit's denominator for each month (a level for stock, a monthly volume for flow)."""
    r = rng_for(unit.code, ind.code, "den")
    base = prof.den * (unit.size if prof.scaled else 1.0) * (r.uniform(0.85, 1.15) if prof.scaled else 1)
    out = []
    for t in range(N_MONTHS):
        level = base * (1 + prof.growth) ** (t / 12)
        if ind.aggregation == "flow":
            level *= (SEASON[t % 12] if prof.seasonal else 1.0) * (1 + r.gauss(0, 0.03))
        out.append(max(level, 0.0))
    return out


def _unit_values(model: DemoModel, unit: Unit, ind: Indicator) -> list[DemoValue]:
    prof = PROFILES.get(ind.code, DEFAULT_PROFILE)
    if ind.kind == "count":
        return _unit_counts(model, unit, ind)
    path = _path(model, unit, ind, prof)
    dens = _den_monthly(unit, ind, prof)
    out, prev_num = [], 0
    for p in periods_for(ind.frequency):
        months = [month_index(p.year, m) for m in range(p.month_from, p.month_to + 1)]
        r = rng_for(unit.code, ind.code, p.code)
        if ind.aggregation == "flow":
            den = max(1, round(sum(dens[t] for t in months)))
            level = sum(path[t] for t in months) / len(months)
            if ind.is_share and level >= 99.95:  # at 100 %: now and then a case or two missed
                level = 100 - (abs(r.gauss(0, prof.noise)) if den >= 20 and r.random() < 0.25 else 0)
            else:
                level += r.gauss(0, prof.noise) - (0.8 if prof.seasonal and p.month_from <= 2 else 0)
        else:
            den = max(1, round(dens[months[-1]]))
            level = path[months[-1]]
            level += r.gauss(0, 0.1) if level < 99.9 else 0.0
        scale = 100.0 if ind.unit == "%" else 1.0
        num = math.floor(max(level, 0) / scale * den + 0.5)
        if ind.is_share:
            num = min(num, den)
        if ind.aggregation == "stock" and ind.is_share:
            num = min(max(num, prev_num), den)
        prev_num = num
        if (unit.code, ind.code, p.code) in NO_BUSINESS:
            num = den = 0
        out.append(DemoValue(unit.code, ind.code, p, int(num), int(den)))
    return out


def _unit_counts(model: DemoModel, unit: Unit, ind: Indicator) -> list[DemoValue]:
    """A count with a target on the unit itself (e.g. 服务渠道数 ≥ 4, 培训每年不少于2次)."""
    anchors = model.anchors[(unit.code, ind.code)]
    out, prev = [], 0
    by_year = {}
    for y in range(FIRST_YEAR, LAST_YEAR + 1):
        in_force = [a for a in anchors if a.year <= y] or anchors[:1]
        target = in_force[-1].value
        r = rng_for(unit.code, ind.code, y)
        behind = _is_behind(unit, ind.code, y) and (unit.role == "bloomer" or y <= 2024)
        by_year[y] = max(0, int(target) + (-max(1, round(0.15 * target)) if behind
                                            else r.choice([0, 0, 1, 1, 2] if ind.aggregation == "flow"
                                                          else [0, 0, 1])))
    for p in periods_for(ind.frequency):
        if ind.aggregation == "flow":
            r = rng_for(unit.code, ind.code, p.year, "split")
            quarters = [r.randint(1, 4) for _ in range(by_year[p.year])]
            n = sum(1 for q in quarters if q == p.month_to // 3) if p.type == "Q" else by_year[p.year]
        else:
            n = max(by_year[p.year], prev)
            prev = n
        out.append(DemoValue(unit.code, ind.code, p, n, None))
    return out


def _city_total_counts(model: DemoModel, jur: str, ind: Indicator, units: list[Unit],
                       capped: bool = True) -> list[DemoValue]:
    """A count targeted on the jurisdiction's total: a total path split over the reporters
    (the districts, or the one bureau that reports it itself: `capped=False`, no per-unit cap)."""
    prof = PROFILES.get(ind.code, DEFAULT_PROFILE)
    anchors = model.anchors.get((jur, ind.code), [])
    r = rng_for(jur, ind.code, "total")
    margin = r.uniform(0.0, 0.12)
    short_year = CITY_SHORTFALLS.get((jur, ind.code))
    knots: list[tuple[int, float]] = []
    for a in anchors:
        if a.year == short_year:
            knots.append((max(a.month, knots[-1][0] + 1 if knots else 0),
                          a.value - max(1, round(0.08 * a.value))))
        else:
            lead = {"year": 3, "deadline": 3}.get(a.timing, 1)
            knots.append((max(a.month - lead, knots[-1][0] + 1 if knots else 0),
                          max(a.value, round(a.value * (1 + margin)))))
    if not knots:
        return []
    if knots[0][0] > 0:
        knots.insert(0, (0, math.floor(anchors[0].value * prof.start_share)))
    weights = [u.size * rng_for(u.code, ind.code, "weight").uniform(0.5, 1.5) for u in units]
    counts = [0] * len(units)
    alloc = rng_for(jur, ind.code, "alloc")
    out = []
    for p in periods_for(ind.frequency):
        t = month_index(p.year, p.month_to)
        total = _interpolate(knots, t)
        if t > knots[-1][0]:
            total += prof.drift * (t - knots[-1][0]) / 12
        total = math.floor(total + 1e-9)
        cap = prof.max_per_unit * len(units) if prof.max_per_unit and capped else math.inf
        while sum(counts) < min(total, cap):
            open_ = [i for i in range(len(units))
                     if prof.max_per_unit is None or not capped or counts[i] < prof.max_per_unit]
            i = alloc.choices(open_, weights=[weights[j] for j in open_])[0]
            counts[i] += 1
        out += [DemoValue(u.code, ind.code, p, counts[i], None) for i, u in enumerate(units)]
    return out


def values_for(model: DemoModel, region_code: str, period_code: str) -> dict[str, DemoValue]:
    """The demo values of one district and period, by indicator (for tests and spot checks)."""
    jur = next(j for j, us in model.units.items() if any(u.code == region_code for u in us))
    return {v.indicator_code: v for v in generate(model, [jur])
            if v.region_code == region_code and v.period.code == period_code}
