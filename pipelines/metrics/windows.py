"""Windows: the periods one metrics query computes at once, each tagged with its roles.

A window is (period, ytd): the months of the period, or — for flow indicators with ytd — from
January to the end of the period. One query computes every window; the roles say what each
result is for (the figure itself, the streak history, the trajectory baseline, trend points).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..periods import Period, month, quarter, year

# How many periods of the same type the streak looks back (it is capped there).
STREAK_LOOKBACK = {"M": 24, "Q": 8, "Y": 4}
TREND_MONTHS = 6        # trend of the last <= 6 monthly values (monthly indicators)
TREND_QUARTERS = 4      # trend of the last <= 4 quarterly values (quarterly indicators)


def month_index(y: int, m: int) -> int:
    """Months since year 0: differences are whole months."""
    return y * 12 + m


def period_index(p: Period) -> int:
    return month_index(p.year, p.month_to)


def containing(y: int, m: int, freq: str) -> Period:
    """The period of type freq (M/Q/Y) that contains month m of year y."""
    if freq == "M":
        return month(y, m)
    if freq == "Q":
        return quarter(y, (m - 1) // 3 + 1)
    return year(y)


def periods_between(start: Period, end: Period, freq: str) -> list[Period]:
    """Periods of type freq from the one containing start's first month through end."""
    out, p = [], containing(start.year, start.month_from, freq)
    while p.start <= end.end:
        out.append(p)
        nxt = p.month_to + 1
        p = containing(p.year + (nxt > 12), 1 if nxt > 12 else nxt, freq)
    return out


def previous_december(p: Period) -> Period:
    """The period of p's type that ends in December of the previous year."""
    if p.type == "M":
        return month(p.year - 1, 12)
    if p.type == "Q":
        return quarter(p.year - 1, 4)
    return year(p.year - 1)


@dataclass
class WindowSet:
    """Distinct (period, ytd) windows and, per role, the window keys it uses."""
    keys: dict = field(default_factory=dict)          # (period code, ytd) -> key
    periods: dict = field(default_factory=dict)       # key -> (Period, ytd)
    roles: dict = field(default_factory=dict)         # role -> list of (key, Period)

    def add(self, role: str, p: Period, ytd: bool) -> int:
        ident = (p.code, bool(ytd))
        if ident not in self.keys:
            self.keys[ident] = len(self.keys)
            self.periods[self.keys[ident]] = (p, bool(ytd))
        key = self.keys[ident]
        self.roles.setdefault(role, []).append((key, p))
        return key

    def params(self) -> dict:
        items = sorted(self.periods.items())
        return {
            "w_key": [k for k, _ in items],
            "w_period": [p.code for _, (p, _y) in items],
            "w_year": [p.year for _, (p, _y) in items],
            "w_from": [p.month_from for _, (p, _y) in items],
            "w_to": [p.month_to for _, (p, _y) in items],
            "w_ytd": [y for _, (_p, y) in items],
        }


def gap_windows(p: Period, basis: str) -> WindowSet:
    """The figure, its streak history, its baseline, and the trend points, for period p."""
    ytd = basis == "ytd"
    ws = WindowSet()
    ws.add("main", p, ytd)
    q = p
    for _ in range(STREAK_LOOKBACK[p.type] - 1):
        q = q.previous()
        ws.add("streak", q, ytd)
    ws.add("baseline", previous_december(p), ytd)
    ws.add("ytd", p, True)
    m = month(p.year, p.month_to)
    for _ in range(TREND_MONTHS):
        ws.add("trend_M", m, False)
        m = m.previous()
    q = quarter(p.year, p.month_to // 3) if p.month_to % 3 == 0 else quarter(
        p.year, (p.month_to - 1) // 3 + 1).previous()
    for _ in range(TREND_QUARTERS):
        ws.add("trend_Q", q, False)
        q = q.previous()
    return ws


def series_windows(periods: list[Period], basis: str) -> WindowSet:
    """Each period of a series, and per year the baseline (previous December, same type)."""
    ytd = basis == "ytd"
    ws = WindowSet()
    for p in periods:
        ws.add("main", p, ytd)
    seen = set()
    for p in periods:
        if p.year not in seen:
            seen.add(p.year)
            ws.add("baseline", previous_december(p), ytd)    # one per year, in year order
    return ws
