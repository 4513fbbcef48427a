"""The rules of DESIGN "How a target judges a figure", "Who reports what" and "When a figure is
due and complete", written out a second time, plainly, for tests to hold the engine against.

Deliberately simple and slow (Python loops over the raw rows of one jurisdiction): it shares
no code with pipelines/metrics, so a mistake would have to be made twice to pass unnoticed.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipelines.periods import Period, parse_period

FREQ = {"月度": "M", "季度": "Q", "年度": "Y"}
ORDER = {"M": 0, "Q": 1, "Y": 2}


def _containing(y, m, t):
    if t == "M":
        return Period(y, m, m)
    if t == "Q":
        q = (m - 1) // 3
        return Period(y, 3 * q + 1, 3 * q + 3)
    return Period(y, 1, 12)


def figure_period(view: Period, frequency: str):
    t = FREQ[frequency]
    if ORDER[t] <= ORDER[view.type]:
        return view
    p = _containing(view.year, view.month_to, t)
    return p if p.month_to == view.month_to else None


@dataclass
class Figure:
    num: float | None
    den: float | None
    complete: bool
    has_data: bool


class Rules:
    """The expected row of one region × indicator in a view, from the warehouse's raw tables."""

    def __init__(self, con, jurisdiction: str):
        self.con = con
        self.jur = jurisdiction
        regions = con.execute("SELECT code, parent_code FROM regions WHERE active AND jurisdiction_code = ?",
                              [jurisdiction]).fetchall()
        self.parent = dict(regions)
        self.children: dict[str, list[str]] = {}
        for code, parent in regions:
            if parent:
                self.children.setdefault(parent, []).append(code)
        self.ind = {r[0]: r for r in con.execute(
            "SELECT code, kind, frequency, aggregation, direction, unit, tolerance, scale, is_share "
            "FROM indicators").fetchall()}
        self.mode = dict(con.execute("SELECT indicator_code, reported_by FROM reporting "
                                     "WHERE jurisdiction_code = ?", [jurisdiction]).fetchall())
        self.values: dict[tuple, list] = {}
        for reg, ind, ptype, y, m0, m1, num, den in con.execute(
                "SELECT v.region_code, v.indicator_code, v.period_type, v.year, v.month_from, v.month_to, "
                "v.numerator, v.denominator FROM return_values v JOIN regions r ON r.code = v.region_code "
                "WHERE r.jurisdiction_code = ? AND v.superseded_at IS NULL", [jurisdiction]).fetchall():
            self.values.setdefault((reg, ind, y), []).append((ptype, m0, m1, num, den))
        self.targets = con.execute(
            "SELECT target_id, indicator_code, region_code, value, timing, year_from, deadline, effective, "
            "basis, judge FROM targets WHERE valid_to IS NULL AND tier = '基本目标'").fetchall()
        self.plan_baselines = con.execute(
            "SELECT region_code, indicator_code, period, value FROM baselines WHERE valid_to IS NULL").fetchall()

    # -- who reports
    def descendants(self, code):
        out = []
        for c in self.children.get(code, []):
            out += [c] + self.descendants(c)
        return out

    def owes(self, code, indicator):
        mode = self.mode.get(indicator, "units")
        if mode == "self":
            return code == self.jur
        if mode == "every_level":
            return True
        return not self.children.get(code)

    def members(self, code, indicator):
        if self.owes(code, indicator):
            return [code]
        return [d for d in self.descendants(code) if self.owes(d, indicator)]

    # -- figures
    def own(self, code, indicator, y, w_from, w_to) -> Figure:
        _, kind, _, agg, *_ = self.ind[indicator]
        vals = self.values.get((code, indicator, y), [])
        if agg == "flow":
            cand = [v for v in vals if v[1] >= w_from and v[2] <= w_to]
        else:
            cand = [v for v in vals if w_from <= v[2] <= w_to]
        if any(v[0] == "Y" for v in cand):
            cand = [v for v in cand if v[0] == "Y"]
        else:
            quarters = {(v[2] - 1) // 3 for v in cand if v[0] == "Q"}
            cand = [v for v in cand if v[0] == "Q" or (v[2] - 1) // 3 not in quarters]
        if not cand:
            return Figure(None, None, False, False)
        if agg == "flow":
            covered = sum(v[2] - v[1] + 1 for v in cand)
            num = sum(v[3] for v in cand)
            den = None if kind == "count" else sum(v[4] for v in cand)
            return Figure(num, den, covered == w_to - w_from + 1, True)
        last = max(cand, key=lambda v: v[2])
        return Figure(last[3], None if kind == "count" else last[4], last[2] == w_to, True)

    def figure(self, code, indicator, fp: Period, ytd: bool):
        """(status if not rated else None, actual, members complete, members)"""
        _, kind, _, agg, _, _, _, scale, _ = self.ind[indicator]
        w_from = 1 if ytd and agg == "flow" else fp.month_from
        figs = [self.own(m, indicator, fp.year, w_from, fp.month_to) for m in self.members(code, indicator)]
        if not any(f.has_data for f in figs):
            return "未报送", None
        if not all(f.complete for f in figs):
            return "数据不全", None
        num = sum(f.num for f in figs)
        if kind == "count":
            return None, num
        den = sum(f.den for f in figs)
        if den == 0:
            return "无业务", None
        return None, scale * num / den

    # -- targets
    def ancestors(self, code):
        out = []
        while code is not None:
            out.append(code)
            code = self.parent.get(code)
        return out

    def target(self, code, indicator, fp: Period):
        kind = self.ind[indicator][1]
        best = None
        for dist, scope in enumerate(self.ancestors(code)):
            if kind == "count" and dist > 0:
                break
            for t in self.targets:
                tid, ind, reg, value, timing, year_from, deadline, effective, basis, judge = t
                if ind != indicator or reg != scope or year_from > fp.year or effective > fp.end:
                    continue
                rank = (-dist, year_from, effective, deadline or dt.date.min, tid)
                if best is None or rank > best[0]:
                    best = (rank, t)
            if best is not None:
                break
        return None if best is None else best[1]

    def expected(self, code, indicator, fp: Period, ytd: bool, t):
        _, kind, _, agg, direction, *_ = self.ind[indicator]
        tid, ind, reg, value, timing, year_from, deadline, effective, basis, judge = t
        if judge != "reach" or timing == "from":
            return value
        deadline = deadline or dt.date(year_from, 12, 31)
        if deadline.year < fp.year:
            if timing == "year" and ytd and agg == "flow":
                deadline = dt.date(fp.year, 12, 31)           # a year's target recurs on a ytd flow
            else:
                return value                                   # kept after its deadline: stands
        now, dl = fp.year * 12 + fp.month_to, deadline.year * 12 + deadline.month
        if now >= dl:
            return value
        b, be = 0.0, (fp.year - 1) * 12 + 12
        if not (ytd and agg == "flow"):
            prev = _containing(fp.year - 1, 12, fp.type)
            status, actual = self.figure(code, indicator, prev, False)
            if status is None and actual is not None:
                b = actual
            else:
                plans = [(parse_period(p), v) for r, i, p, v in self.plan_baselines
                         if r == code and i == indicator]
                plans = [(p, v) for p, v in plans if p.year * 12 + p.month_to < now]
                if plans:
                    p, b = max(plans, key=lambda pv: pv[0].year * 12 + pv[0].month_to)
                    be = p.year * 12 + p.month_to
        if (b <= value) if direction == "lower" else (b >= value):
            return value
        return b + (value - b) * min(max((now - be) / (dl - be), 0.0), 1.0)

    # -- the row
    def expect(self, code, indicator, view: Period, basis: str = "period") -> dict:
        _, kind, frequency, agg, direction, unit, tolerance, *_ = self.ind[indicator]
        fp = figure_period(view, frequency)
        if fp is None:
            return {"status": "未到期"}
        t = self.target(code, indicator, fp)
        ytd = basis == "ytd" or (t is not None and t[8] in ("ytd", "year"))
        status, actual = self.figure(code, indicator, fp, ytd)
        out = {"figure_period": fp.code, "judged_on": "ytd" if ytd else "period",
               "target": None if t is None else t[3]}
        if status is not None:
            return out | {"status": status, "actual": actual}
        if t is None:
            return out | {"status": "无目标", "actual": actual}
        expected = self.expected(code, indicator, fp, ytd, t)
        diff = expected - actual if direction == "lower" else actual - expected
        tol = tolerance if unit == "%" else tolerance * abs(t[3])
        status = "达标" if round(diff, 9) >= 0 else ("接近" if abs(diff) <= tol + 1e-9 else "未达标")
        return out | {"status": status, "actual": actual, "expected": expected}
