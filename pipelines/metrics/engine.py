"""`Metrics`: the one place that computes indicators (docs/ARCHITECTURE.md "Metrics API").

Every method reads the warehouse as it stood at `as_of` (None = now) and returns a pandas
DataFrame (or a plain value). The SQL lives in sql.py; this module chooses rows and windows,
runs it, and assembles the columns the dashboards, the bulletin and the CLI rely on.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..periods import Period, parse_period
from . import reference, trajectory
from ..memo import ResultCache, memoised
from .sql import BASELINES_SQL, FAR_FUTURE, GAPS_SQL
from .windows import gap_windows, period_index, periods_between, series_windows

DEFAULT_TIER = "基本目标"
BASES = ("period", "ytd")

GAP_COLUMNS = [
    "region_code", "region_name", "parent_code", "is_parent", "sort_order",
    "indicator_code", "indicator_name", "unit", "direction", "period", "basis",
    "numerator", "denominator", "actual", "value_source", "reporters", "expected_reporters",
    "stock_month_missing", "target", "comparator", "tier", "target_scope", "target_plan",
    "target_source", "target_deadline", "target_basis", "gap", "completion", "status",
    "tolerance", "rank", "rank_of", "streak", "baseline", "expected", "on_track", "forecast",
    "needed_per_month", "months_left",
]
SERIES_COLUMNS = ["period", "numerator", "denominator", "actual", "target", "expected", "status",
                  "reporters", "expected_reporters"]


def as_period(value) -> Period:
    return value if isinstance(value, Period) else parse_period(value)


class Metrics:
    """Indicator figures from the warehouse `con` as it stood at `as_of` (datetime or None).

    With a `cache` (a ResultCache owned by whoever owns the connection and told of every
    change), answers already computed for the same data are served from it.
    """

    def __init__(self, con, as_of: dt.datetime | None = None, cache: ResultCache | None = None):
        self.con = con
        self.as_of = as_of
        self.cache = cache

    # ---------------------------------------------------------------- plumbing
    @property
    def _t(self):
        return self.as_of if self.as_of is not None else dt.datetime.fromisoformat(FAR_FUTURE)

    def _frame(self, sql: str, params: dict) -> pd.DataFrame:
        return self.con.execute(sql, params).df()

    def _rows_for(self, region: str | None) -> tuple[list[str], str | None]:
        """Row regions: R and the active regions directly under it, or all roots."""
        if region is None:
            codes = [c for (c,) in self.con.execute(
                "SELECT code FROM regions WHERE parent_code IS NULL AND active "
                "ORDER BY sort_order").fetchall()]
            return codes, None
        code = self.resolve_region(region)
        kids = [c for (c,) in self.con.execute(
            "SELECT code FROM regions WHERE parent_code = ? AND active ORDER BY sort_order",
            [code]).fetchall()]
        return [code, *kids], code

    def _run(self, rows, parent, ws, indicators, tier) -> pd.DataFrame:
        params = {"T": self._t, "rows": rows, "parent": parent, "tier": tier,
                  "inds": list(indicators) if indicators is not None else None, **ws.params()}
        return self._frame(GAPS_SQL, params)

    # ---------------------------------------------------------------- gaps
    @memoised
    def gaps(self, period, region: str | None = None, basis: str = "period",
             indicators=None, tier: str = DEFAULT_TIER) -> pd.DataFrame:
        """Region R (is_parent) and each region directly under it × the relevant indicators."""
        if basis not in BASES:
            raise ValueError(f"口径“{basis}”无效：应为 period（当期）或 ytd（累计）")
        p = as_period(period)
        rows, parent = self._rows_for(region)
        ws = gap_windows(p, basis)
        frame = self._run(rows, parent, ws, indicators, tier)
        main_key = ws.roles["main"][0][0]
        main = frame[frame["wkey"] == main_key].reset_index(drop=True)
        main["basis"] = basis
        main["period"] = p.code
        if main.empty:
            return pd.DataFrame(columns=GAP_COLUMNS)
        frame = frame[["wkey", *trajectory.KEY, "actual", "status", "frequency"]]   # slim
        streak = trajectory.streaks(frame, ws)
        main["streak"] = streak.reindex(pd.MultiIndex.from_frame(
            main[trajectory.KEY])).fillna(0).astype(int).to_numpy()
        plan = self._frame(BASELINES_SQL, {"rows": rows, "T": self._t})
        bkey, bperiod = ws.roles["baseline"][0]
        now = float(period_index(p))
        b, be = trajectory.baselines(main, frame, pd.Series(bkey, index=main.index),
                                     pd.Series(float(period_index(bperiod)), index=main.index),
                                     np.full(len(main), now), plan)
        trajectory.add_path(main, now, b, be)
        trajectory.add_forecast(main, frame, ws, p)
        return _finish(main, GAP_COLUMNS)

    # ---------------------------------------------------------------- series
    @memoised
    def series(self, region: str, indicator: str, start, end, freq: str = "M",
               basis: str = "period", tier: str = DEFAULT_TIER) -> pd.DataFrame:
        """One region's figure for each period of type freq (M/Q/Y) from start to end."""
        if freq not in ("M", "Q", "Y"):
            raise ValueError(f"频度“{freq}”无效：应为 M（月）、Q（季）或 Y（年）")
        if basis not in BASES:
            raise ValueError(f"口径“{basis}”无效：应为 period（当期）或 ytd（累计）")
        code = self.resolve_region(region)
        periods = periods_between(as_period(start), as_period(end), freq)
        if not periods:
            return pd.DataFrame(columns=SERIES_COLUMNS)
        ws = series_windows(periods, basis)
        frame = self._run([code], None, ws, [indicator], tier)
        plan = self._frame(BASELINES_SQL, {"rows": [code], "T": self._t})
        keys = {k: p for k, p in ws.roles["main"]}
        base = {p.year + 1: (k, period_index(p)) for k, p in ws.roles["baseline"]}
        out = frame[frame["wkey"].isin(keys)].reset_index(drop=True)
        years = out["wkey"].map({k: p.year for k, p in keys.items()})
        now = out["wkey"].map({k: period_index(p) for k, p in keys.items()}).to_numpy(dtype=float)
        b, be = trajectory.baselines(out, frame, years.map(lambda y: base[y][0]),
                                     years.map(lambda y: base[y][1]).astype(float), now, plan)
        trajectory.add_path(out, now, b, be)
        return _finish(out, SERIES_COLUMNS)

    # ---------------------------------------------------------------- reference data
    @memoised
    def jurisdictions(self) -> pd.DataFrame:
        return reference.jurisdictions(self)

    @memoised
    def regions(self, root: str) -> pd.DataFrame:
        return reference.regions(self, root)

    @memoised
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
    def targets_table(self, jurisdiction: str) -> pd.DataFrame:
        return reference.targets_table(self, jurisdiction)


def _finish(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame.reindex(columns=columns).reset_index(drop=True)
    for col in ("actual", "numerator", "denominator", "target", "gap", "completion", "tolerance",
                "rank", "rank_of", "baseline", "expected", "forecast", "needed_per_month",
                "months_left"):
        if col in out:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    for col in ("reporters", "expected_reporters"):
        if col in out:
            out[col] = out[col].fillna(0).astype(int)
    for col in ("value_source", "target_scope", "target_plan", "target_source", "tier",
                "comparator", "target_basis"):
        if col in out:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    if "target_deadline" in out:
        out["target_deadline"] = pd.to_datetime(out["target_deadline"]).dt.date
    return out
