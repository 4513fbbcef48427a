"""`Metrics`: the one place that computes indicators (docs/ARCHITECTURE.md "Metrics API").

Every method reads the warehouse as it stood at `as_of` (None = now) and returns a pandas
DataFrame (or a plain value). How one view is answered:
1. who reports what (reporting.py) decides, per row region and indicator, whether the row is
   the region's own figure, the roll-up of the units below it, or nothing at all;
2. the reporting cycle (cycle.py) maps the view's period to each indicator's figure period
   (or 未到期) and lists the windows to compute: the figure, year to date where a target or
   the view asks for it, the streak's history, the baselines of paths, the trend points;
3. one query (sql.py) computes every window's figure with its completeness;
4. judge.py picks each figure's target and judges it; trajectory.py forecasts the year end.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import numpy as np
import pandas as pd

from ..db import first_row
from ..memo import ResultCache, memoised
from ..periods import Period, parse_period
from . import figure_table
from . import judge as jd
from . import reference, trajectory
from .cycle import (FREQUENCY_TYPE, STREAK_LOOKBACK, Window, WindowSet, figure_period,
                    figure_periods, month_index, periods_between, previous, trend_periods,
                    year_end_before)
from .reporting import Reporting
from .sql import (BASELINES_SQL, FAR_FUTURE, FIGURES_REVIEWED_SQL, FIGURES_SQL, RELEVANT_SQL,
                  STORED_SQL, TARGETS_SQL)
from .status import DECIMALS, NOT_DUE

DEFAULT_TIER = "基本目标"
BASES = ("period", "ytd")
YEAR_BASES = ("ytd", "year")

GAP_COLUMNS = [
    "region_code", "region_name", "parent_code", "is_parent", "sort_order",
    "indicator_code", "indicator_name", "unit", "kind", "aggregation", "frequency", "direction",
    "period", "basis", "figure_period", "judged_on", "row_kind",
    "numerator", "denominator", "actual", "value_source", "complete", "months_covered",
    "months_expected", "last_month", "missing_months", "reporters", "expected_reporters",
    "partial_reporters",
    "target", "comparator", "tier", "target_scope", "target_plan", "target_source",
    "target_deadline", "target_basis", "judge", "standing",
    "gap", "completion", "status", "rated", "tolerance", "rank", "rank_of", "rank_ties",
    "streak", "baseline", "expected", "on_track", "forecast", "needed_per_month", "months_left",
    "unreviewed",
]
SERIES_COLUMNS = ["period", "figure_period", "judged_on", "numerator", "denominator", "actual",
                  "complete", "missing_months", "last_month", "target", "expected", "status",
                  "rated", "reporters",
                  "expected_reporters", "partial_reporters", "unreviewed"]
# Columns of the figures table (figure_table.py), one row per (region, indicator, figure
# period, view basis); the view's own words (names, units) are joined when it is read.
STORED_COLUMNS = [
    "region_code", "indicator_code", "figure_period", "fp_type", "fp_year", "fp_end",
    "view_basis", "parent_code", "row_kind", "judged_on", "numerator", "denominator", "actual",
    "value_source", "complete", "months_covered", "months_expected", "last_month",
    "missing_months", "reporters", "expected_reporters", "partial_reporters", "target",
    "comparator", "tier", "target_scope", "target_plan", "target_source", "target_deadline",
    "target_basis", "judge", "standing", "gap", "completion", "status", "rated", "tolerance",
    "rank", "rank_of", "rank_ties", "streak", "baseline", "expected", "on_track", "forecast",
    "needed_per_month", "months_left", "own_actual", "own_complete", "unreviewed",
]
_FLOAT_COLUMNS = ("numerator", "denominator", "actual", "target", "gap", "completion", "tolerance",
                  "rank", "rank_of", "rank_ties", "baseline", "expected", "forecast",
                  "needed_per_month", "months_left", "months_covered", "months_expected",
                  "last_month", "own_actual")
_TEXT_COLUMNS = ("value_source", "target_scope", "target_plan", "target_source", "tier",
                 "comparator", "target_basis", "judge", "figure_period", "missing_months",
                 "row_kind")


def as_period(value) -> Period:
    return value if isinstance(value, Period) else parse_period(value)


class Metrics:
    """Indicator figures from the warehouse `con` as it stood at `as_of` (datetime or None).

    With a `cache` (a ResultCache owned by whoever owns the connection and told of every
    change), answers already computed for the same data are served from it.

    Every figure says whether it counts a value not approved in review (`unreviewed`: its
    submission is 待审核 or 退回 at `as_of`, pipelines/workflow/review.py). With
    `reviewed_only`, figures count approved values only: per region, indicator and period the
    latest revision approved at `as_of` (a pending or returned revision is skipped: the
    approved one before it counts, or nothing) — always computed, never read from the table.
    """

    def __init__(self, con, as_of: dt.datetime | None = None, cache: ResultCache | None = None,
                 *, stored: bool = True, reviewed_only: bool = False):
        self.con = con
        self.as_of = as_of
        self.cache = cache
        self.reviewed_only = reviewed_only
        # False: always compute (the reference the table is held to; the table holds all values)
        self.stored = stored and not reviewed_only
        self._read: dict | None = None   # reference reads shared within one answer

    def _once(self, key, read):
        """`read()` once per answer being computed (the tree, the catalog, settings): a
        Metrics kept across changes still sees new targets and regions in its next answer."""
        if self._read is None:
            return read()
        if key not in self._read:
            self._read[key] = read()
        return self._read[key]

    @contextmanager
    def _answer(self):
        outer = self._read is None
        if outer:
            self._read = {}
        try:
            yield
        finally:
            if outer:
                self._read = None

    # ---------------------------------------------------------------- plumbing
    @property
    def _t(self):
        return self.as_of if self.as_of is not None else dt.datetime.fromisoformat(FAR_FUTURE)

    def _frame(self, sql: str, params: dict) -> pd.DataFrame:
        return self.con.execute(sql, params).df()

    @memoised
    def reporting(self) -> Reporting:
        """Who reports what, on the active region tree (reporting.Reporting)."""
        return self._once("reporting", lambda: Reporting.read(self.con))

    @memoised
    def _indicator_info(self) -> pd.DataFrame:
        return self._once("indicators", lambda: self._frame(
            "SELECT code AS indicator_code, name AS indicator_name, unit, kind, frequency, "
            "aggregation, direction, scale, tolerance AS tolerance_setting, is_share, "
            "sort_order AS indicator_order FROM indicators", {}))

    @memoised
    def _indicator_rows(self) -> dict[str, tuple]:
        """Indicator code → its `_INFO_FIELDS` (what a stored row shows of its indicator)."""
        return self._once("indicator_rows", lambda: {r[0]: tuple(r[1:]) for r in self.con.execute(
            "SELECT code, name, unit, kind, aggregation, frequency, direction, sort_order "
            "FROM indicators").fetchall()})

    @memoised
    def min_share(self) -> float:
        """Share of the owing units a roll-up needs complete to be rated (setting; 1 = all)."""
        def read():
            row = first_row(self.con.execute("SELECT value FROM settings WHERE key = 'rollup.min_share'"))
            try:
                share = float(row[0]) if row else 1.0
            except ValueError:
                share = 1.0
            return min(max(share, 0.0), 1.0)
        return self._once("min_share", read)

    def settings(self, prefix: str) -> dict[str, str]:
        """Settings whose key starts with `prefix` (e.g. 'bulletin.331081.'), prefix removed."""
        def read():
            rows = self.con.execute("SELECT key, value FROM settings WHERE starts_with(key, ?) "
                                    "ORDER BY key", [prefix]).fetchall()
            return {k[len(prefix):]: v for k, v in rows}
        return self._once(("settings", prefix), read)

    def _rows_for(self, region: str | None) -> tuple[list[str], str | None]:
        """Row regions: R and the active regions directly under it, or all roots."""
        tree = self.reporting().tree
        if region is None:
            return tree.roots(), None
        # an active region's code is itself (a code match wins over names and aliases)
        code = region if isinstance(region, str) and region in tree.name else self.resolve_region(region)
        if code not in tree.name:
            raise ValueError(f"地区“{region}”已停用：请选择现行地区")
        return [code, *tree.children.get(code, [])], code

    def _relevant(self, rows: list[str], indicators) -> dict[str, list[str]]:
        """Jurisdiction → indicator codes that matter there (catalog order)."""
        rep = self.reporting()
        jurs = sorted({rep.tree.jurisdiction[r] for r in rows})
        order = self._indicator_info().set_index("indicator_code")["indicator_order"]
        if indicators is not None:
            wanted = [i for i in indicators if i in order.index]
            return {j: sorted(wanted, key=order.get) for j in jurs}
        codes = sorted({c for r in rows for c in [r, *rep.tree.descendants(r)]})
        found = self._frame(RELEVANT_SQL, {"T": self._t, "jurs": jurs, "codes": codes})
        out = {j: [] for j in jurs}
        for j, ind in zip(found["jurisdiction_code"], found["indicator_code"]):
            if ind in order.index:
                out[j].append(ind)
        return {j: sorted(set(v), key=order.get) for j, v in out.items()}

    @memoised
    def _targets(self, jurs: tuple[str, ...], tier: str) -> pd.DataFrame:
        return self._once(("targets", jurs, tier), lambda: self._frame(
            TARGETS_SQL, {"T": self._t, "jurs": list(jurs), "tier": tier}))

    # ---------------------------------------------------------------- the core
    def _evaluate(self, rows, parent, views: list[Period], basis: str, indicators, tier: str,
                  history: bool = False, trend: bool = False):
        """(view rows, all figures): each view × row region × relevant indicator, judged."""
        rep = self.reporting()
        tree = rep.tree
        info = self._indicator_info().set_index("indicator_code")
        relevant = self._relevant(rows, indicators)
        rowset = [(r, i, k) for r in rows for i in relevant[tree.jurisdiction[r]]
                  if (k := rep.row_kind(r, i)) is not None]
        jurs = tuple(sorted(relevant))
        targets = self._targets(jurs, tier)
        ytd_inds = set(targets.loc[targets["target_basis"].isin(YEAR_BASES), "indicator_code"])
        reach_inds = set(targets.loc[targets["judge"] == "reach", "indicator_code"])
        used = sorted({i for _, i, _ in rowset}, key=lambda c: info.at[c, "indicator_order"])

        ws, wanted = WindowSet(), []
        for ind in used:
            freq, agg = info.at[ind, "frequency"], info.at[ind, "aggregation"]
            need_ytd = agg == "flow" and (basis == "ytd" or ind in ytd_inds)

            def add(fp, ind=ind, need_ytd=need_ytd):
                ws.add(Window(ind, fp, False))
                if need_ytd:
                    ws.add(Window(ind, fp, True))

            for v in views:
                fp = figure_period(v, freq)
                wanted.append((v.code, 0, ind, fp))
                if fp is None:
                    continue
                fps = [fp]
                if history:
                    for k, h in enumerate(previous(fp, STREAK_LOOKBACK[fp.type] - 1), start=1):
                        wanted.append((v.code, k, ind, h))
                        fps.append(h)
                for f in fps:
                    add(f)
                if ind in reach_inds:
                    for f in {year_end_before(f) for f in fps}:
                        ws.add(Window(ind, f, False))
                if trend:
                    for t in trend_periods(fp, freq):
                        ws.add(Window(ind, t, False))

        figures = self._figures(rowset, ws, info)
        if not figures.empty:
            self._judge(figures, targets, info)
        view_rows = self._select(figures, wanted, rowset, basis, views, parent, info)
        return view_rows, figures

    def _figures(self, rowset, ws: WindowSet, info: pd.DataFrame) -> pd.DataFrame:
        """One row per (window, row region, indicator) with its figure and completeness."""
        rep = self.reporting()
        owed, members = set(), set()
        for r, i, kind in rowset:
            if kind == "own":
                owed.add((r, i))
            else:
                for m in rep.owing_below(r, i):
                    owed.add((m, i))
                    members.add((r, m))
        if not ws.keys or not rowset:
            return pd.DataFrame()
        owed, members = sorted(owed), sorted(members)
        params = {"T": self._t, **ws.params(info["aggregation"].to_dict()),
                  "o_region": [a for a, _ in owed], "o_ind": [b for _, b in owed],
                  "r_region": [r for r, _, _ in rowset], "r_ind": [i for _, i, _ in rowset],
                  "r_own": [k == "own" for _, _, k in rowset],
                  "m_row": [a for a, _ in members], "m_des": [b for _, b in members]}
        frame = self._frame(FIGURES_REVIEWED_SQL if self.reviewed_only else FIGURES_SQL, params)
        frame = frame.merge(pd.DataFrame(ws.frame_columns()), on="wkey")
        frame = frame.merge(info.reset_index(), on="indicator_code")
        frame = frame.rename(columns={"num": "numerator", "den": "denominator", "unrev": "unreviewed"})
        frame["fp_end_month"] = frame["fp_end"] - frame["fp_year"] * 12
        count = frame["kind"].eq("count")
        den = frame["denominator"].astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = frame["scale"] * frame["numerator"].astype(float) / den.where(den != 0)
        frame["actual"] = np.where(count, frame["numerator"].astype(float), ratio)
        frame.loc[count, "denominator"] = np.nan
        has = frame["numerator"].notna()
        frame["value_source"] = np.where(has, np.where(frame["own"], "reported", "rolled_up"), None)
        flow = frame["aggregation"].eq("flow")
        start = np.where(frame["window"].eq("ytd") & flow, 1, frame["fp_start_month"])
        frame["months_expected"] = np.where(flow & frame["own"], frame["fp_end_month"] - start + 1,
                                            np.nan)
        frame.loc[~frame["own"], "months_covered"] = np.nan
        return frame

    def _judge(self, frame: pd.DataFrame, targets: pd.DataFrame, info: pd.DataFrame) -> None:
        tree = self.reporting().tree
        ancestors = {c: tree.ancestors(c) for c in frame["region_code"].unique()}
        picked = jd.pick_targets(frame, targets, ancestors, info["kind"].to_dict())
        cols = ["target_id", "target_scope", "target", "comparator", "tier", "target_plan",
                "timing", "year_from", "deadline", "effective", "target_basis", "judge",
                "target_source", "target_text"]
        merged = frame.merge(picked, on=["region_code", "indicator_code", "fp_end"],
                             how="left", suffixes=("", "_t"))
        for c in cols:
            frame[c] = merged[c].to_numpy() if c in merged else np.nan
        jd.deadlines(frame)
        b, be = self._baselines(frame)
        jd.expected_values(frame, b, be)
        jd.judge(frame, self.min_share())

    def _baselines(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(value, end month index) a reach path starts from, per row (DESIGN "reach"):
        0 at the start of the year for a flow judged year to date; else the region's own
        complete figure at the last year end; else the plan's baseline; else 0."""
        n = len(frame)
        prev_dec = np.array([month_index(int(y) - 1, 12) for y in frame["fp_year"]], dtype=float)
        value, end = np.zeros(n), prev_dec.copy()
        need = (frame["judge"].eq("reach") & ~frame["standing"].astype(bool)).to_numpy()
        if not need.any():
            return value, end
        ytd_flow = (frame["window"].eq("ytd") & frame["aggregation"].eq("flow")).to_numpy()
        look = need & ~ytd_flow
        found = np.zeros(n, dtype=bool)
        if look.any():
            known = frame[frame["complete"].astype(bool) & frame["actual"].notna()
                          & frame["window"].eq("period")]
            known = known.set_index(["region_code", "indicator_code", "figure_period"])["actual"]
            known = known[~known.index.duplicated()]
            prev_codes = [year_end_before(Period(int(y), int(a), int(b))).code if lk else None
                          for y, a, b, lk in zip(frame["fp_year"], frame["fp_start_month"],
                                                 frame["fp_end_month"], look)]
            keys = pd.MultiIndex.from_arrays([frame["region_code"], frame["indicator_code"],
                                              pd.Series(prev_codes, dtype=object)])
            got = known.reindex(keys).to_numpy(dtype=float)
            found = look & ~np.isnan(got)
            value = np.where(found, got, value)
            plan = self._frame(BASELINES_SQL, {"rows": sorted(frame["region_code"].unique()),
                                               "T": self._t})
            if not plan.empty:
                plan["end"] = [month_index(p.year, p.month_to)
                               for p in map(parse_period, plan["period"])]
                rows = pd.DataFrame({"region_code": frame["region_code"].to_numpy(),
                                     "indicator_code": frame["indicator_code"].to_numpy(),
                                     "now": frame["fp_end"].to_numpy(), "row": np.arange(n)})
                cand = rows[look & ~found].merge(plan, on=["region_code", "indicator_code"])
                cand = cand[cand["end"] < cand["now"]].sort_values(["row", "end"])
                latest = cand.groupby("row").last()
                if not latest.empty:
                    at = latest.index.to_numpy()
                    value[at] = latest["value"].to_numpy(dtype=float)
                    end[at] = latest["end"].to_numpy(dtype=float)
                    found[at] = True
        return value, np.where(found, end, prev_dec)

    def _select(self, figures: pd.DataFrame, wanted, rowset, basis: str, views, parent,
                info: pd.DataFrame) -> pd.DataFrame:
        """The rows each view shows: the figure of its figure period, judged on its window."""
        tree = self.reporting().tree
        want = pd.DataFrame(wanted, columns=["period", "step", "indicator_code", "fp"])
        rs = pd.DataFrame(rowset, columns=["region_code", "indicator_code", "row_kind"])
        want = rs.merge(want, on="indicator_code")
        want["figure_period"] = [None if p is None else p.code for p in want["fp"]]
        due = want[want["figure_period"].notna()].drop(columns=["fp"])
        if not figures.empty and not due.empty:
            per = figures[figures["window"] == "period"]
            tb = per[["region_code", "indicator_code", "figure_period", "target_basis"]]
            due = due.merge(tb, on=["region_code", "indicator_code", "figure_period"], how="left")
            year_judged = due["target_basis"].isin(YEAR_BASES) | (basis == "ytd")
            flow = due["indicator_code"].map(info["aggregation"]).eq("flow")
            due["window"] = np.where(year_judged & flow, "ytd", "period")
            due["judged_on"] = np.where(year_judged, "ytd", "period")
            due = due.drop(columns=["target_basis"]).merge(
                figures, on=["region_code", "indicator_code", "figure_period", "window"], how="left")
        not_due = want[want["figure_period"].isna()].drop(columns=["fp"])
        if not not_due.empty:
            not_due = not_due.merge(info.reset_index(), on="indicator_code")
            not_due = not_due.assign(status=NOT_DUE, rated=False, reporters=0, unreviewed=False,
                                     expected_reporters=0, partial_reporters=0, complete=False,
                                     own=not_due["row_kind"].eq("own"), judged_on=None)
        out = pd.concat([d for d in (due, not_due) if not d.empty], ignore_index=True) \
            if not (due.empty and not_due.empty) else pd.DataFrame(columns=[*GAP_COLUMNS, "step"])
        out["basis"] = basis
        out["region_name"] = out["region_code"].map(tree.name)
        out["parent_code"] = out["region_code"].map(tree.parent)
        out["sort_order"] = out["region_code"].map(tree.sort_order)
        out["is_parent"] = out["region_code"].eq(parent) if parent is not None else False
        return out

    # ---------------------------------------------------------------- the maintained table
    def stored_rows(self, rows: list[str], years, indicators=None,
                    tier: str = DEFAULT_TIER) -> pd.DataFrame:
        """Rows of the figures table (figure_table.py) for `rows` × their relevant indicators ×
        every figure period of `years`, for both view bases: each row the figure a view of that
        period on that basis shows, judged — without rank, streak and forecast, which depend
        on other rows and are computed over the table."""
        with self._answer():
            rep = self.reporting()
            info = self._indicator_info().set_index("indicator_code")
            relevant = self._relevant(rows, indicators)
            rowset = [(r, i, k) for r in rows for i in relevant[rep.tree.jurisdiction[r]]
                      if (k := rep.row_kind(r, i)) is not None]
            targets = self._targets(tuple(sorted(relevant)), tier)
            reach_inds = set(targets.loc[targets["judge"] == "reach", "indicator_code"])
            ws = WindowSet()
            for ind in sorted({i for _, i, _ in rowset}):
                freq, agg = info.at[ind, "frequency"], info.at[ind, "aggregation"]
                for fp in figure_periods(years, freq):
                    ws.add(Window(ind, fp, False))
                    if agg == "flow":
                        ws.add(Window(ind, fp, True))
                    if ind in reach_inds:
                        ws.add(Window(ind, year_end_before(fp), False))
            figures = self._figures(rowset, ws, info)
            if figures.empty:
                return pd.DataFrame(columns=STORED_COLUMNS)
            self._judge(figures, targets, info)
            out = _both_views(figures[figures["fp_year"].isin(list(years))],
                              {(r, i): k for r, i, k in rowset}, rep.tree)
            out["target_deadline"] = _dates(out["_dl"])
            return _finish(out, STORED_COLUMNS)

    # ---------------------------------------------------------------- gaps
    @memoised
    def gaps(self, period, region: str | None = None, basis: str = "period",
             indicators=None, tier: str = DEFAULT_TIER) -> pd.DataFrame:
        """Region R (is_parent) and each region directly under it × the relevant indicators."""
        if basis not in BASES:
            raise ValueError(f"口径“{basis}”无效：应为 period（当期）或 ytd（累计）")
        p = as_period(period)
        with self._answer():
            stored = self._gaps_stored(p, region, basis, indicators, tier)
            return stored if stored is not None else self._gaps(p, region, basis, indicators, tier)

    # ---------------------------------------------------------------- reading the table
    def _snapshot(self) -> int | None:
        """The figures table's snapshot this Metrics reads: the present, a frozen moment, or
        None (no snapshot of this moment: compute)."""
        if self.as_of is None:
            return figure_table.PRESENT
        return figure_table.snapshot_for(self.con, self.as_of)

    def _stored(self, rows, parent, views: list[Period], basis: str, indicators, tier):
        """The view rows of `views` read from the figures table (GAP_COLUMNS order), or None
        where it cannot answer (another tier, a year it does not hold, a stale mark, no
        snapshot). Assembled in plain Python: a view is a few dozen rows."""
        if tier != DEFAULT_TIER or not self.stored:
            return None
        sid = self._snapshot()
        if sid is None:
            return None
        tree = self.reporting().tree
        jurs = sorted({tree.jurisdiction[r] for r in rows})
        years = {v.year for v in views}
        if not self._readable(sid, tuple(jurs), tuple(sorted(years)),
                              None if indicators is None else tuple(indicators)):
            return None
        fps = {(v.code, f): (p.code if p else None) for v in views for f in ("月度", "季度", "年度")
               for p in [figure_period(v, f)]}
        # every (region, indicator) has a row for each year: those tell which rows a view has
        wanted = sorted({c for c in fps.values() if c} | {str(y) for y in years})
        info = self._indicator_rows()     # read first: a query on the connection ends `cur`
        cur = self.con.execute(STORED_SQL, {"s": sid, "b": basis, "rows": list(rows), "fps": wanted,
                                            "lo": min(rows), "hi": max(rows),
                                            "inds": None if indicators is None else list(indicators)})
        names = [d[0] for d in cur.description] + list(_INFO_FIELDS)
        found = {(r[0], r[1], r[2]): r + info[r[1]] for r in cur.fetchall()}
        k_kind, k_freq, k_order = names.index("row_kind"), names.index("frequency"), names.index("indicator_order")
        out = []
        for v in views:
            idents = sorted((key for key in found if key[2] == str(v.year)),
                            key=lambda k: (k[0] != parent, tree.sort_order.get(k[0], 0),
                                           found[k][k_order]))
            for region, ind, _ in idents:
                ident = found[(region, ind, str(v.year))]
                fp = fps[(v.code, ident[k_freq])]
                row = found.get((region, ind, fp)) if fp else None
                rec = dict(zip(names, row)) if row else {**dict(zip(names, ident)), **_NOT_DUE_ROW}
                if not row:
                    rec["figure_period"] = None
                is_parent = parent is not None and region == parent
                rec.update(period=v.code, basis=basis, region_name=tree.name.get(region),
                           parent_code=tree.parent.get(region), sort_order=tree.sort_order.get(region),
                           is_parent=is_parent, row_kind=ident[k_kind])
                if is_parent:
                    rec.update(rank=None, rank_of=None, rank_ties=None)
                out.append(rec)
        return out

    @memoised
    def _readable(self, sid: int, jurs: tuple, years: tuple, indicators) -> bool:
        """figure_table.readable, once per data version (a stale mark and a refresh are each
        a change: the cache's version moves on)."""
        return figure_table.readable(self.con, sid, jurs, years, indicators)

    def _gaps_stored(self, p: Period, region, basis, indicators, tier) -> pd.DataFrame | None:
        rows, parent = self._rows_for(region)
        out = self._stored(rows, parent, [p], basis, indicators, tier)
        if out is None:
            return None
        return _finish_stored(out, GAP_COLUMNS)

    def _gaps(self, p: Period, region, basis, indicators, tier) -> pd.DataFrame:
        rows, parent = self._rows_for(region)
        view, figures = self._evaluate(rows, parent, [p], basis, indicators, tier,
                                       history=True, trend=True)
        if view.empty:
            return pd.DataFrame(columns=GAP_COLUMNS)
        view["streak"] = 0
        hist = view[view["figure_period"].notna()]
        if not hist.empty:
            streak = jd.streaks(hist)
            main = view["step"] == 0
            idx = pd.MultiIndex.from_frame(view.loc[main, ["region_code", "indicator_code"]])
            view.loc[main, "streak"] = streak.reindex(idx).fillna(0).astype(int).to_numpy()
        main = view[view["step"] == 0].reset_index(drop=True)
        main["target_deadline"] = _dates(main["_dl"]) if "_dl" in main else None
        jd.add_ranks(main, DECIMALS, by=["indicator_code"])
        self._forecast(main, figures)
        main = main.sort_values(["is_parent", "sort_order", "indicator_order"],
                                ascending=[False, True, True], kind="stable")
        return _finish(main, GAP_COLUMNS)

    def _forecast(self, main: pd.DataFrame, figures: pd.DataFrame) -> None:
        main["forecast"] = np.nan
        due = main["figure_period"].notna()
        if figures.empty or not due.any():
            return
        pts = figures.loc[(figures["window"] == "period") & figures["complete"].astype(bool)
                          & figures["actual"].notna()
                          & (figures["fp_type"] == figures["frequency"].map(FREQUENCY_TYPE)),
                          ["region_code", "indicator_code", "fp_end", "actual"]]
        points = pts.rename(columns={"fp_end": "x", "actual": "y"})
        main.loc[due, "forecast"] = trajectory.forecast(main[due], points)

    # ---------------------------------------------------------------- series
    @memoised
    def series(self, region: str, indicator: str, start, end, freq: str = "M",
               basis: str = "period", tier: str = DEFAULT_TIER) -> pd.DataFrame:
        """One region's figure for each period of type freq (M/Q/Y) from start to end."""
        return self.series_many(region, [indicator], start, end, freq, basis, tier)[indicator]

    @memoised
    def series_many(self, region: str, indicators, start, end, freq: str = "M",
                    basis: str = "period", tier: str = DEFAULT_TIER) -> dict[str, pd.DataFrame]:
        """`series` of several indicators of one region over the same periods, read at once
        (a district page's trend panels): indicator code → its frame."""
        if freq not in ("M", "Q", "Y"):
            raise ValueError(f"频度“{freq}”无效：应为 M（月）、Q（季）或 Y（年）")
        if basis not in BASES:
            raise ValueError(f"口径“{basis}”无效：应为 period（当期）或 ytd（累计）")
        code = self.resolve_region(region)
        inds = list(dict.fromkeys(indicators))
        views = periods_between(as_period(start), as_period(end), freq)
        if not views or not inds:
            return {i: pd.DataFrame(columns=SERIES_COLUMNS) for i in inds}
        with self._answer():
            stored = self._stored([code], None, views, basis, inds, tier)
            if stored is not None:
                return {i: _finish_stored([r for r in stored if r["indicator_code"] == i], SERIES_COLUMNS)
                        for i in inds}
            view, _ = self._evaluate([code], None, views, basis, inds, tier)
        order = {v.code: i for i, v in enumerate(views)}
        view = view.sort_values("period", key=lambda s: s.map(order), kind="stable")
        return {i: _finish(view[view["indicator_code"] == i], SERIES_COLUMNS) for i in inds}

    # ---------------------------------------------------------------- reference data
    @memoised
    def jurisdictions(self) -> pd.DataFrame:
        return reference.jurisdictions(self)

    @memoised
    def regions(self, root: str) -> pd.DataFrame:
        return reference.regions(self, root)

    @memoised
    @memoised
    def region_names(self):
        """The resolver's table of region codes, names and aliases (catalog/names.py)."""
        from pipelines.catalog.names import region_names
        return self._once("region_names", lambda: region_names(self.con))

    def resolve_region(self, text) -> str:
        return reference.resolve_region(self, text)

    @memoised
    def indicators(self, jurisdiction: str | None = None) -> pd.DataFrame:
        return reference.indicators(self, jurisdiction)

    @memoised
    def periods(self, jurisdiction: str, type: str = "Q") -> list[str]:  # noqa: A002 (API name)
        return reference.periods(self, jurisdiction, type)

    @memoised
    def data_as_of(self, jurisdiction: str | None = None):
        return reference.data_as_of(self, jurisdiction)

    @memoised
    def provenance(self, region: str, indicator: str, period, basis: str = "period") -> pd.DataFrame:
        return reference.provenance(self, region, indicator, as_period(period), basis)

    @memoised
    def submission_status(self, jurisdiction: str, year: int, frequency: str = "月度") -> pd.DataFrame:
        return reference.submission_status(self, jurisdiction, year, frequency)

    @memoised
    def reporting_rate(self, jurisdiction: str, year: int, frequency: str = "月度"):
        """报送率 (reporting_rate.py): owed, received, on time, late, missing, not yet due —
        counts and rates per region, per period and over the year."""
        from .reporting_rate import reporting_rate
        return reporting_rate(self, jurisdiction, year, frequency)

    @memoised
    def chase_list(self, jurisdiction: str, year: int, frequency: str = "月度") -> pd.DataFrame:
        """催报: returns due and not in, oldest first, with the region's contact (chase.py)."""
        from .chase import chase_list
        return chase_list(self, jurisdiction, year, frequency)

    @memoised
    def owed_by(self, region: str) -> pd.DataFrame:
        """What one region owes: overdue returns and those due soon (chase.py)."""
        from .chase import owed_by
        return owed_by(self, region)

    def reminders_due(self, days_before: int, days_after: int, catch_up_days: int = 30) -> pd.DataFrame:
        from .chase import reminders_due
        return reminders_due(self, days_before, days_after, catch_up_days)

    @memoised
    def review_states(self, jurisdiction: str, year: int) -> pd.DataFrame:
        """The year's submissions not approved (待审核 / 退回) and the corrections, newest first."""
        return reference.review_states(self, jurisdiction, year)

    @memoised
    def unreviewed_submissions(self, region: str, periods=None) -> pd.DataFrame:
        """Submissions of the region and below not approved at as_of (待审核 / 退回), oldest first."""
        return reference.unreviewed_submissions(self, region, None if periods is None else tuple(periods))

    @memoised
    def targets_table(self, jurisdiction: str) -> pd.DataFrame:
        return reference.targets_table(self, jurisdiction)

    @memoised
    def reporting_table(self, jurisdiction: str) -> pd.DataFrame:
        return reference.reporting_table(self, jurisdiction)


def _both_views(figures: pd.DataFrame, kinds: dict, tree) -> pd.DataFrame:
    """Each figure period's row in a 当期 view and in a 累计 view (the rule of Metrics._select,
    without its merges): the 累计 view judges a flow's year to date; the 当期 view judges the year
    to date where the target is written on the year, the period's own window otherwise."""
    key = ["region_code", "indicator_code", "figure_period"]
    per = figures[figures["window"] == "period"].set_index(key)
    ytd = figures[figures["window"] == "ytd"].set_index(key).reindex(per.index)
    flow = per["aggregation"].eq("flow")
    year_judged = per["target_basis"].isin(YEAR_BASES)
    views = []
    for basis, use_ytd, judged in (("period", flow & year_judged, year_judged),
                                   ("ytd", flow, pd.Series(True, index=per.index))):
        view = pd.concat([per[~use_ytd], ytd[use_ytd]])
        view["judged_on"] = np.where(judged.reindex(view.index), "ytd", "period")
        view["view_basis"] = basis
        view["own_actual"] = per["actual"].reindex(view.index).to_numpy()
        view["own_complete"] = per["complete"].reindex(view.index).to_numpy()
        views.append(view)
    out = pd.concat(views).reset_index()
    out["row_kind"] = [kinds.get(k) for k in zip(out["region_code"], out["indicator_code"])]
    out["parent_code"] = out["region_code"].map(tree.parent)
    return out


def _dates(yyyymmdd: pd.Series) -> list:
    return [None if v != v else dt.date(int(v) // 10000, int(v) // 100 % 100, int(v) % 100)
            for v in yyyymmdd]


def _finish_stored(records: list[dict], columns: list[str]) -> pd.DataFrame:
    """A frame of rows read from the figures table, typed as `_finish` types them (built column
    by column from typed numpy arrays: a view is small, and pandas' per-column conversions are
    not)."""
    typed, text = {}, {}
    for col in columns:
        values = [r.get(col) for r in records]
        if col in _FLOAT_COLUMNS:
            typed[col] = np.array([np.nan if v is None else v for v in values], dtype=float)
        elif col in _INT_COLUMNS:
            typed[col] = np.array([0 if v is None else v for v in values], dtype=np.int64)
        elif col in _BOOL_COLUMNS:
            typed[col] = np.array([bool(v) for v in values], dtype=bool)
        elif col == "on_track":
            typed[col] = pd.array(values, dtype="boolean")
        else:
            text[col] = values
    # text columns stay object with None (pandas 3 would infer str with NaN): one object block
    index = pd.RangeIndex(len(records))
    frame = pd.concat([pd.DataFrame(text, dtype=object, index=index),
                       pd.DataFrame(typed, index=index)], axis=1)
    return frame[columns]


# the indicator's own fields a stored row carries (Metrics._indicator_rows), in that order
_INFO_FIELDS = ("indicator_name", "unit", "kind", "aggregation", "frequency", "direction", "indicator_order")
_BOOL_COLUMNS = ("complete", "rated", "standing", "is_parent", "unreviewed")
_INT_COLUMNS = ("reporters", "expected_reporters", "partial_reporters", "streak")
# What a row the table holds no figure for (未到期) shows in place of the figure's columns.
_NOT_DUE_ROW = {c: None for c in (
    "judged_on", "numerator", "denominator", "actual", "value_source", "months_covered",
    "months_expected", "last_month", "missing_months", "target", "comparator", "tier",
    "target_scope", "target_plan", "target_source", "target_deadline", "target_basis", "judge",
    "gap", "completion", "tolerance", "rank", "rank_of", "rank_ties", "baseline", "expected",
    "on_track", "forecast", "needed_per_month", "months_left")} | {
    "status": NOT_DUE, "rated": False, "complete": False, "standing": False, "reporters": 0,
    "expected_reporters": 0, "partial_reporters": 0, "streak": 0, "unreviewed": False}


def _finish(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame.reindex(columns=columns).reset_index(drop=True)
    for col in _FLOAT_COLUMNS:
        if col in out:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    for col in ("reporters", "expected_reporters", "partial_reporters", "streak"):
        if col in out:
            out[col] = out[col].fillna(0).astype(int)
    for col in ("complete", "rated", "standing", "is_parent", "own_complete", "unreviewed"):
        if col in out:
            out[col] = out[col].fillna(False).astype(bool)
    for col in _TEXT_COLUMNS + ("judged_on",):
        if col in out:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    if "target_deadline" in out:
        out["target_deadline"] = pd.to_datetime(out["target_deadline"]).dt.date
        out["target_deadline"] = out["target_deadline"].astype(object).where(
            out["target_deadline"].notna(), None)
    if "on_track" in out:
        out["on_track"] = out["on_track"].astype("boolean")
    return out
