"""The reporting cycle: which figure a view of a period shows, and the windows behind it.

DESIGN "When a figure is due and complete". An indicator reported at frequency F has a figure
only for periods that end an F-period. A view of period P (a month, quarter or year) shows,
for each indicator, the figure of its *figure period*:
- F as fine as P or finer (a monthly indicator in a quarter view): P itself;
- F coarser than P: the F-period that ends with P (the year 2024 in the 2024Q4 view), or none
  where P ends no F-period (a yearly indicator in 2024Q2: 未到期).

A figure is computed over a *window* of months of the figure period's year: `period` is the
figure period's own months; `ytd` runs from January (for a flow; a stock's year-to-date figure
is its period-end level, so its ytd window is its period window).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..periods import Period, month, quarter, year

FREQUENCY_TYPE = {"月度": "M", "季度": "Q", "年度": "Y"}
_ORDER = {"M": 0, "Q": 1, "Y": 2}
# How many periods of each type a streak looks back (it is capped there).
STREAK_LOOKBACK = {"M": 24, "Q": 8, "Y": 4}
TREND_POINTS = {"M": 6, "Q": 4}       # recent native figures a forecast's trend is fitted on


def month_index(y: int, m: int) -> int:
    """Months since year 0: differences are whole months."""
    return y * 12 + m


def end_index(p: Period) -> int:
    return month_index(p.year, p.month_to)


def containing(y: int, m: int, ptype: str) -> Period:
    """The period of type ptype (M/Q/Y) that contains month m of year y."""
    if ptype == "M":
        return month(y, m)
    if ptype == "Q":
        return quarter(y, (m - 1) // 3 + 1)
    return year(y)


def coarser(a: str, b: str) -> str:
    return a if _ORDER[a] >= _ORDER[b] else b


def figure_period(view: Period, frequency: str) -> Period | None:
    """The period whose figure a view of `view` shows for an indicator reported at frequency."""
    ftype = FREQUENCY_TYPE[frequency]
    if _ORDER[ftype] <= _ORDER[view.type]:
        return view
    fp = containing(view.year, view.month_to, ftype)
    return fp if fp.month_to == view.month_to else None


def previous(p: Period, n: int) -> list[Period]:
    """The n periods of p's type before p, most recent first."""
    out, q = [], p
    for _ in range(n):
        q = q.previous()
        out.append(q)
    return out


def year_end_before(p: Period) -> Period:
    """The period of p's type that ends in December of the year before p's."""
    return containing(p.year - 1, 12, p.type)


def periods_between(start: Period, end: Period, ptype: str) -> list[Period]:
    """Periods of type ptype from the one containing start's first month through end."""
    out, p = [], containing(start.year, start.month_from, ptype)
    while p.start <= end.end:
        out.append(p)
        nxt = p.month_to + 1
        p = containing(p.year + (nxt > 12), 1 if nxt > 12 else nxt, ptype)
    return out


def figure_periods(years, frequency: str) -> list[Period]:
    """Every period of `years` an indicator reported at `frequency` has a figure for: its own
    periods and the coarser ones (a monthly indicator: 12 months, 4 quarters, the year)."""
    ftype = FREQUENCY_TYPE[frequency]
    out = []
    for y in sorted(years):
        if ftype == "M":
            out += [month(y, m) for m in range(1, 13)]
        if ftype in ("M", "Q"):
            out += [quarter(y, q) for q in range(1, 5)]
        out.append(year(y))
    return out


def trend_periods(p: Period, frequency: str) -> list[Period]:
    """The native periods (months or quarters) a year-end forecast at p is fitted on."""
    ftype = FREQUENCY_TYPE[frequency]
    n = TREND_POINTS.get(ftype)
    if n is None:
        return []
    last = containing(p.year, p.month_to, ftype)
    if last.month_to != p.month_to:          # the native period is not over yet at p
        last = last.previous()
    return [last, *previous(last, n - 1)]


@dataclass(frozen=True)
class Window:
    """The months one figure is computed over (all of the same year)."""
    indicator: str
    period: Period          # the figure period
    ytd: bool               # True: from January (flows); the label of the judged window

    def months(self, aggregation: str) -> tuple[int, int]:
        start = 1 if self.ytd and aggregation == "flow" else self.period.month_from
        return start, self.period.month_to

    @property
    def name(self) -> str:
        return "ytd" if self.ytd else "period"


class WindowSet:
    """Distinct windows, numbered for the query (key → Window)."""

    def __init__(self):
        self.keys: dict[Window, int] = {}

    def add(self, w: Window) -> int:
        if w not in self.keys:
            self.keys[w] = len(self.keys)
        return self.keys[w]

    def params(self, aggregation: dict[str, str]) -> dict:
        items = sorted(self.keys.items(), key=lambda kv: kv[1])
        months = [w.months(aggregation[w.indicator]) for w, _ in items]
        return {"w_key": [k for _, k in items], "w_ind": [w.indicator for w, _ in items],
                "w_year": [w.period.year for w, _ in items],
                "w_from": [a for a, _ in months], "w_to": [b for _, b in months]}

    def frame_columns(self) -> dict:
        """Per key: indicator, figure period code, its end index, year, window name."""
        items = sorted(self.keys.items(), key=lambda kv: kv[1])
        return {"wkey": [k for _, k in items],
                "figure_period": [w.period.code for w, _ in items],
                "fp_type": [w.period.type for w, _ in items],
                "fp_year": [w.period.year for w, _ in items],
                "fp_start_month": [w.period.month_from for w, _ in items],
                "fp_end": [end_index(w.period) for w, _ in items],
                "window": [w.name for w, _ in items]}
