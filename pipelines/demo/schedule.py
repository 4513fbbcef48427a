"""When and in which file each demo value reaches the bureau (示例数据 报送 history).

Until TEMPLATE_SINCE, returns arrive mostly in the city's compiled long table (one workbook per
jurisdiction and month, with the month's, the quarter's and the year's figures on separate
sheets, uploaded a few days after the month ends); districts that were late send their own
template after the due day. From TEMPLATE_SINCE on, every district uploads its own template.
A few returns never arrive, and a few are corrected: the first file carries a wrong figure, a
later file (a few weeks on) the right one — the value that the generator produced.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipelines.demo.values import DemoModel, DemoValue, rng_for
from pipelines.periods import Period

MARK = "示例数据"
# Periods ending on or after this day arrive as each district's own template; earlier ones in the
# city's monthly compiled table (unless late). Templates are slow to write: keep this recent.
TEMPLATE_SINCE = dt.date(2025, 12, 1)
DUE_DAY = {"月度": 10, "季度": 15, "年度": 31}
# Chance per district and period, by role: (late, missing, corrected).
CHANCES = {"good": (0.006, 0.002, 0.006), "bloomer": (0.03, 0.01, 0.01),
           "laggard": (0.05, 0.03, 0.01)}
# Returns that certainly never arrive — a month missing from a quarter, so the demo shows a
# partial quarter (数据不全) in the views its tests check — and returns that certainly come late.
NEVER_SENT = {("350921", "2025-12"), ("331081009", "2024-05"), ("370826", "2024Q2")}
ALWAYS_LATE = {("431002", "2025Q4"), ("350981", "2024-05")}


@dataclass
class Upload:
    """One file as it reaches the bureau."""
    file_name: str
    uploaded_at: dt.datetime
    layout: str                  # template | long
    jurisdiction: str
    period: Period
    frequency: str
    kind: str                    # on_time | late | correction
    region: str | None = None    # the district, for templates and district files
    values: list[DemoValue] = field(default_factory=list)


def due_date(period: Period, frequency: str) -> dt.date:
    """The due day of a return: the 10th (月度) / 15th (季度) after the period, 31 Jan (年度)."""
    nxt = period.end + dt.timedelta(days=1)
    return dt.date(nxt.year, nxt.month, DUE_DAY.get(frequency, 10))


def _at(day: dt.date, rng) -> dt.datetime:
    minute = rng.randint(8 * 60 + 30, 17 * 60 + 30)
    return dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60, rng.randint(0, 59))


def _wrong(v: DemoValue, rng) -> DemoValue:
    """The figure a district first sent by mistake (still a valid return)."""
    if v.denominator is None:
        return DemoValue(v.region_code, v.indicator_code, v.period, v.numerator + 1, None)
    if rng.random() < 0.5 and v.numerator > 10:
        return DemoValue(v.region_code, v.indicator_code, v.period,
                         int(v.numerator * 0.9), v.denominator)
    return DemoValue(v.region_code, v.indicator_code, v.period, v.numerator,
                     max(v.numerator, int(v.denominator * 1.1) + 1))


def plan_uploads(model: DemoModel, values: list[DemoValue]) -> list[Upload]:
    """Every upload of the demo, in chronological order."""
    jur_of = {u.code: j for j, us in model.units.items() for u in us} | {j: j for j in model.units}
    roles = {u.code: u.role for us in model.units.values() for u in us} | {j: "good" for j in model.units}
    groups: dict[tuple[str, str, Period], dict[str, list[DemoValue]]] = {}
    for v in values:
        freq = model.indicators[v.indicator_code].frequency
        groups.setdefault((jur_of[v.region_code], freq, v.period), {}).setdefault(
            v.region_code, []).append(v)
    uploads: list[Upload] = []
    compiled: dict[tuple[str, int, int], list[DemoValue]] = {}
    for (jur, freq, period), by_region in groups.items():
        uploads += _district_uploads(jur, freq, period, by_region, model.names, roles, compiled)
    for (jur, y, m), vals in compiled.items():
        p = Period(y, m, m)
        r = rng_for(jur, p.code, "city")
        at = _at(p.end + dt.timedelta(days=r.randint(2, 8)), r)
        uploads.append(Upload(_file_name(model.names[jur], p, None, None, "报送汇总"), at, "long", jur,
                              p, "月度", "on_time", None, vals))
    uploads.sort(key=lambda u: (u.uploaded_at, u.file_name))
    return uploads


def _district_uploads(jur, freq, period, by_region, names, roles, compiled) -> list[Upload]:
    """A district's own files for one period; on-time values of the compiled era go to `compiled`."""
    due = due_date(period, freq)
    city_file = period.end < TEMPLATE_SINCE
    out: list[Upload] = []
    for region, vals in by_region.items():
        r = rng_for(region, period.code, freq, "schedule")
        late_p, missing_p, corr_p = CHANCES[roles[region]]
        draw = r.random()
        if draw < missing_p or (region, period.code) in NEVER_SENT:
            continue
        late = draw < missing_p + late_p or (region, period.code) in ALWAYS_LATE
        corrected = r.random() < corr_p
        first = list(vals)
        if corrected:
            i = r.randrange(len(first))
            first[i] = _wrong(first[i], r)
        if late:
            at = _at(due + dt.timedelta(days=r.randint(1, 20)), r)
        elif city_file:
            at = _at(period.end + dt.timedelta(days=8), r)   # no later than the city's file
            compiled.setdefault((jur, period.year, period.month_to), []).extend(first)
        else:
            at = _at(period.end + dt.timedelta(days=r.randint(1, due.day - 1)), r)
        if late or not city_file:
            out.append(Upload(_file_name(names[jur], period, freq, _sender(region, jur, names),
                                         "补报" if late else None),
                              at, "template", jur, period, freq, "late" if late else "on_time",
                              region, first))
        if corrected:
            fix_at = _at(at.date() + dt.timedelta(days=r.randint(14, 35)), r)
            out.append(Upload(_file_name(names[jur], period, freq, _sender(region, jur, names), "更正"), fix_at,
                              "long" if city_file and not late else "template", jur, period, freq,
                              "correction", region, list(vals)))
    return out


def _sender(region: str, jur: str, names: dict[str, str]) -> str:
    """How a file names who sent it: the district, or 本级 for the jurisdiction's own bureau."""
    return "本级" if region == jur else names[region]


def _file_name(jname: str, period: Period, freq: str | None, district: str | None,
               tag: str | None) -> str:
    label = period.label + ("度" if period.type == "Y" else "")
    kind = {"月度": "月报", "季度": "季报", "年度": "年报"}.get(freq or "")
    parts = [MARK, jname, district, label, kind, tag]
    return "_".join(p for p in parts if p) + ".xlsx"
