"""Year-end forecasts, vectorised over many rows at once (nothing here reads the warehouse).

forecast: the least-squares trend of the last <= 6 monthly figures (monthly indicators) or
<= 4 quarterly figures (quarterly indicators) that are complete and end by the row's figure
period, read at December of the figure's year; for a flow count judged year to date, the year
total = the year to date + the trend of the periods left in the year. A figure period that
ends in December is final: its forecast is the figure itself. Only rated figures get one.
Kept within possible values (DESIGN): 0–100 for shares, never below 0 for counts and means.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .cycle import FREQUENCY_TYPE, TREND_POINTS

KEY = ["region_code", "indicator_code"]
STEP = {"M": 1, "Q": 3}


def forecast(rows: pd.DataFrame, points: pd.DataFrame) -> np.ndarray:
    """The forecast of each row.

    rows: region_code, indicator_code, frequency, kind, aggregation, judged_on, is_share,
    rated, actual, fp_end (month index of the figure period's end), fp_year.
    points: region_code, indicator_code, x (month index), y — complete native figures.
    """
    n = len(rows)
    native = rows["frequency"].map(FREQUENCY_TYPE)
    step = native.map(STEP).to_numpy(dtype=float)
    span = native.map(TREND_POINTS).to_numpy(dtype=float) * step
    now = rows["fp_end"].to_numpy(dtype=float)
    slope = np.full(n, np.nan)
    icpt = np.full(n, np.nan)
    if len(points) and n:
        keyed = pd.DataFrame({"region_code": rows["region_code"].to_numpy(),
                              "indicator_code": rows["indicator_code"].to_numpy(),
                              "_row": np.arange(n), "_now": now, "_span": span})
        pts = keyed.merge(points[[*KEY, "x", "y"]], on=KEY)
        pts = pts[(pts["x"] <= pts["_now"]) & (pts["x"] > pts["_now"] - pts["_span"])]
        if len(pts):
            # x in months relative to the row's period end (well-conditioned sums)
            x = pts["x"].to_numpy(dtype=float) - pts["_now"].to_numpy(dtype=float)
            y = pts["y"].to_numpy(dtype=float)
            pts = pts.assign(x=x, y=y)
            g = pts.assign(xx=x * x, xy=x * y).groupby("_row")
            c = g["x"].count()
            sx, sy, sxx, sxy = g["x"].sum(), g["y"].sum(), g["xx"].sum(), g["xy"].sum()
            denom = c * sxx - sx ** 2
            ok = (c >= 2) & (denom > 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                s = ((c * sxy - sx * sy) / denom).where(ok)
                i = ((sy - s * sx) / c).where(ok)
            slope[s.index.to_numpy()] = s.to_numpy(dtype=float)
            icpt[i.index.to_numpy()] = i.to_numpy(dtype=float)
    december = rows["fp_year"].to_numpy(dtype=float) * 12 + 12
    actual = rows["actual"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        level = icpt + slope * (december - now)
        remaining = np.floor((december - now) / step)            # native periods left in the year
        later_x_sum = step * remaining * (remaining + 1) / 2      # their x, relative to now
        total = actual + remaining * icpt + slope * later_x_sum
    year_total = (rows["kind"].eq("count") & rows["aggregation"].eq("flow")
                  & rows["judged_on"].eq("ytd")).to_numpy()
    out = np.where(year_total, total, level)
    out = np.where(now >= december, actual, out)
    out = np.where(rows["rated"].fillna(False).astype(bool).to_numpy(), out, np.nan)
    share = rows["is_share"].fillna(False).astype(bool).to_numpy()
    return np.where(share, np.clip(out, 0.0, 100.0), np.maximum(out, 0.0))
