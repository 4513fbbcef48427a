"""Year-end forecasts, vectorised over a query's rows (nothing here reads the warehouse).

forecast: the least-squares trend of the last <= 6 monthly figures (monthly indicators) or
<= 4 quarterly figures (quarterly indicators) that are complete, read at December of the
figure's year; for a flow count judged year to date, the year total = the year to date + the
trend of the periods left in the year. A figure period that ends in December is final: its
forecast is the figure itself. Kept within possible values (DESIGN): 0–100 for shares, never
below 0 for counts and means.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .cycle import month_index

KEY = ["region_code", "indicator_code"]


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


def add_forecast(main: pd.DataFrame, points: pd.DataFrame) -> None:
    """Adds `forecast` to main (in place). points: region_code, indicator_code, x (end month
    index), step (1 monthly, 3 quarterly) and actual of complete native figures up to the row."""
    idx = pd.MultiIndex.from_frame(main[KEY])
    fit = _trend(points).reindex(idx)
    if points.empty:
        steps = np.full(len(main), np.nan)
    else:
        steps = points.groupby(KEY)["step"].first().reindex(idx).to_numpy(dtype=float)
    slope, icpt = fit["slope"].to_numpy(dtype=float), fit["intercept"].to_numpy(dtype=float)
    now = main["fp_end"].to_numpy(dtype=float)
    december = np.array([month_index(int(y), 12) for y in main["fp_year"]], dtype=float)
    actual = main["actual"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        level = icpt + slope * december
        remaining = np.floor((december - now) / steps)
        later_x_sum = remaining * now + steps * remaining * (remaining + 1) / 2
        total = actual + remaining * icpt + slope * later_x_sum
    year_total = (main["kind"].eq("count") & main["aggregation"].eq("flow")
                  & main["window"].eq("ytd")).to_numpy()
    forecast = np.where(year_total, total, level)
    forecast = np.where(now >= december, actual, forecast)
    forecast = np.where(main["rated"].astype(bool).to_numpy(), forecast, np.nan)
    share = main["is_share"].astype(bool).to_numpy()
    forecast = np.where(share, np.clip(forecast, 0.0, 100.0), np.maximum(forecast, 0.0))
    main["forecast"] = forecast
