"""Streaks, 序时进度 (expected path) and year-end forecasts, vectorised over a query's rows.

Inputs are the frames GAPS_SQL returns for several windows at once (see windows.py); nothing
here reads the warehouse or loops over regions.
- streak: consecutive periods of the same type, ending at P, whose status is 未达标;
- baseline: the region's actual at the previous year's December (same basis), else the plan
  baseline (baselines table, latest period ending before P), else NaN;
- expected = baseline + (target − baseline) × elapsed / total months, from the baseline's end
  month to the target's deadline month (year end for year and from-targets), clamped to [0, 1];
- on_track: actual beats expected (direction aware);
- forecast: least-squares trend of the last <= 6 monthly values (monthly indicators) or
  <= 4 quarterly values (quarterly indicators) up to P, at December of P's year; for flow
  counts the year total = year-to-date actual + the trend of the remaining periods;
- months_left = months from P's end to the deadline (>= 0); needed_per_month =
  (target − actual) / months_left when short, 0 when met.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..periods import Period, parse_period
from .windows import WindowSet, month_index, period_index

KEY = ["region_code", "indicator_code"]


def streaks(frame: pd.DataFrame, ws: WindowSet) -> pd.Series:
    """Streak of 未达标 per (region, indicator), ending at the main window."""
    order = [ws.roles["main"][0][0]] + [k for k, _ in ws.roles.get("streak", [])]
    pos = {k: i for i, k in enumerate(order)}
    hist = frame[frame["wkey"].isin(pos)].copy()
    hist["k"] = hist["wkey"].map(pos)
    breaks = hist[hist["status"] != "未达标"].groupby(KEY)["k"].min()
    keys = hist.groupby(KEY).size().index
    return breaks.reindex(keys).fillna(len(order)).astype(int)


def _value_at(frame: pd.DataFrame, key: int, column: str = "actual") -> pd.Series:
    return frame[frame["wkey"] == key].set_index(KEY)[column]


def baselines(main: pd.DataFrame, frame: pd.DataFrame, base_keys: pd.Series,
              base_ends: pd.Series, now: np.ndarray, plan: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(baseline value, baseline end month index) for each row of main.

    base_keys / base_ends: per row, the window key and end month index of its own baseline
    (previous December, same basis); plan: baselines table rows (region, indicator, period,
    value) used where the region has no actual there.
    """
    look = frame[["wkey", *KEY, "actual"]].rename(columns={"wkey": "_bk", "actual": "_bv"})
    rows = main[KEY].assign(_bk=base_keys.to_numpy(), _row=np.arange(len(main)))
    own = rows.merge(look, on=["_bk", *KEY], how="left").sort_values("_row")
    value = own["_bv"].to_numpy(dtype=float)
    end = np.where(np.isnan(value), np.nan, base_ends.to_numpy(dtype=float))
    if len(plan):
        plan = plan.copy()
        ends = {code: period_index(parse_period(code)) for code in plan["period"].unique()}
        plan["_end"] = plan["period"].map(ends).astype(float)
        cand = rows.assign(_now=now).merge(plan, on=KEY)
        cand = cand[cand["_end"] < cand["_now"]].sort_values(["_row", "_end"])
        latest = cand.groupby("_row").last()
        pv = latest["value"].reindex(range(len(main))).to_numpy(dtype=float)
        pe = latest["_end"].reindex(range(len(main))).to_numpy(dtype=float)
        use = np.isnan(value) & ~np.isnan(pv)
        value = np.where(use, pv, value)
        end = np.where(use, pe, end)
    return value, end


def _deadline_index(deadlines: pd.Series) -> np.ndarray:
    d = pd.to_datetime(deadlines)
    return (d.dt.year * 12 + d.dt.month).to_numpy(dtype=float)


def add_path(main: pd.DataFrame, now, b: np.ndarray, be: np.ndarray) -> None:
    """Adds baseline, expected, on_track, months_left, needed_per_month (in place).

    now: end month index of each row's period (array or scalar); b, be: baseline and its end.
    """
    target = main["target"].to_numpy(dtype=float)
    actual = main["actual"].to_numpy(dtype=float)
    lower = (main["direction"] == "lower").to_numpy()
    deadline = _deadline_index(main["target_deadline"])
    now = np.asarray(now, dtype=float)
    total = deadline - be
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(total > 0, np.clip((now - be) / total, 0.0, 1.0), 1.0)
        expected = np.where(np.isnan(b) | np.isnan(target), np.nan, b + (target - b) * frac)
        on_track = np.where(lower, actual <= expected + 1e-9, actual >= expected - 1e-9)
        known = ~np.isnan(actual) & ~np.isnan(expected)
        months_left = np.where(np.isnan(deadline), np.nan, np.maximum(deadline - now, 0.0))
        gap = main["gap"].to_numpy(dtype=float)
        short = gap < -1e-9
        needed = np.where(np.isnan(gap), np.nan,
                          np.where(short, np.where(months_left > 0,
                                                   (target - actual) / months_left, np.nan), 0.0))
    main["baseline"] = b
    main["expected"] = expected
    main["on_track"] = pd.array(np.where(known, on_track, False), dtype="boolean")
    main.loc[~known, "on_track"] = pd.NA
    main["months_left"] = months_left
    main["needed_per_month"] = needed


def _trend(points: pd.DataFrame) -> pd.DataFrame:
    """Least-squares slope and intercept of actual on x per (region, indicator), n >= 2."""
    pts = points[points["actual"].notna()]
    if pts.empty:
        return pd.DataFrame({"slope": [], "intercept": []},
                            index=pd.MultiIndex.from_arrays([[], []], names=KEY))
    codes, uniques = pd.MultiIndex.from_frame(pts[KEY]).factorize()
    x = pts["x"].to_numpy(dtype=float)
    y = pts["actual"].to_numpy(dtype=float)
    n = np.bincount(codes).astype(float)
    sx, sy = np.bincount(codes, x), np.bincount(codes, y)
    sxy, sxx = np.bincount(codes, x * y), np.bincount(codes, x * x)
    denom = n * sxx - sx ** 2
    ok = (n >= 2) & (denom > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(ok, (n * sxy - sx * sy) / denom, np.nan)
        intercept = np.where(ok, (sy - slope * sx) / n, np.nan)
    return pd.DataFrame({"slope": slope, "intercept": intercept}, index=uniques)


def add_forecast(main: pd.DataFrame, frame: pd.DataFrame, ws: WindowSet, p: Period) -> None:
    """Adds forecast: the year-end value by the trend of recent monthly/quarterly values."""
    idx = pd.MultiIndex.from_frame(main[KEY])
    parts = []
    for role, freq in (("trend_M", "月度"), ("trend_Q", "季度")):
        keys = {k: period_index(q) for k, q in ws.roles.get(role, [])}
        pts = frame[frame["wkey"].isin(keys) & (frame["frequency"] == freq)].copy()
        pts["x"] = pts["wkey"].map(keys).astype(float)
        fit = _trend(pts)
        fit["step"] = 1 if freq == "月度" else 3
        parts.append(fit)
    fit = pd.concat(parts).reindex(idx)
    slope, icpt = fit["slope"].to_numpy(dtype=float), fit["intercept"].to_numpy(dtype=float)
    step = fit["step"].to_numpy(dtype=float)
    december = float(month_index(p.year, 12))
    level = icpt + slope * december
    # flow counts: year total = ytd actual + trend of the periods left in the year
    ytd_key = ws.roles["ytd"][0][0]
    ytd = _value_at(frame, ytd_key).reindex(idx).to_numpy(dtype=float)
    now = float(period_index(p))
    with np.errstate(invalid="ignore"):
        remaining = np.floor((december - now) / step)           # periods after P in the year
        later_x_sum = remaining * december - step * remaining * (remaining - 1) / 2
        total = ytd + remaining * icpt + slope * later_x_sum
    flow_count = ((main["kind"] == "count") & (main["aggregation"] == "flow")).to_numpy()
    main["forecast"] = np.where(flow_count, total, level)
