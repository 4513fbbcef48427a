"""How a target judges a figure (DESIGN "How a target judges a figure", "Gaps and status").

Vectorised over a frame of figures (one row per region × indicator × figure period × window,
see engine.py); nothing here reads the warehouse.
- `pick_targets`: the target in force for each (region, indicator, figure period): nearest
  scope first (rates and means inherit from ancestors, counts only their own region), then
  the latest year_from, effective and deadline;
- `judge`: the expected value (序时进度) a status is judged against — the target itself for
  `hold`, standing and due targets; for `reach` before its deadline's period the straight path
  from the baseline — then gap, completion, tolerance and the eight statuses;
- `add_ranks`, `streaks`: competition ranks on displayed values among rated rows, with ties
  counted; consecutive rated 未达标 periods.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import status as st

KEY = ["region_code", "indicator_code"]


def pick_targets(rows: pd.DataFrame, targets: pd.DataFrame, ancestors: dict[str, list[str]],
                 kinds: dict[str, str]) -> pd.DataFrame:
    """For each distinct (region, indicator, fp_end) of rows: its target's columns.

    fp_end is the figure period's last month as a month index (year × 12 + month); a target
    applies from its `effective` date's month on (a figure period ends on a month's last day).
    """
    keys = rows[["region_code", "indicator_code", "fp_end"]].drop_duplicates()
    empty = keys.iloc[0:0].assign(target_id=pd.Series(dtype="Int64"))
    if keys.empty or targets.empty:
        return empty
    chain = pd.DataFrame([(c, a, d) for c in keys["region_code"].unique()
                          for d, a in enumerate(ancestors[c])],
                         columns=["region_code", "target_scope", "dist"])
    cand = keys.merge(chain, on="region_code").merge(targets, on=["target_scope", "indicator_code"])
    if cand.empty:
        return empty
    is_count = cand["indicator_code"].map(kinds).eq("count")
    eff = pd.to_datetime(cand["effective"])
    fp_year = (cand["fp_end"] - 1) // 12
    ok = (cand["year_from"] <= fp_year) & (eff.dt.year * 12 + eff.dt.month <= cand["fp_end"]) \
        & (~is_count | (cand["dist"] == 0))
    cand = cand[ok].assign(_dl=pd.to_datetime(cand["deadline"]))
    cand = cand.sort_values(["dist", "year_from", "effective", "_dl", "target_id"],
                            ascending=[True, False, False, False, False], na_position="last")
    best = cand.drop_duplicates(["region_code", "indicator_code", "fp_end"])
    return best.drop(columns=["dist", "_dl"])


def deadlines(frame: pd.DataFrame) -> None:
    """Adds _dl (the deadline in force, as YYYYMMDD), standing (bool), months_left (in place).

    - `from` targets stand from their date: judged on the target itself; the year's end is the
      horizon months_left counts to.
    - `year` and `deadline` targets: before the deadline's period a `reach` target follows its
      path; from that period on it is judged on the target. Kept after its year, it stands —
      except on a flow judged year to date: that figure starts again each January, and so does
      a year's target kept in force ("培训每年不少于2次" binds every year until replaced).
    """
    timing = frame["timing"]
    has = frame["target"].notna().to_numpy()
    fp_year = frame["fp_year"].to_numpy(dtype=float)
    deadline = pd.to_datetime(frame["deadline"])
    # a year's target without a stored deadline ends with its year
    dl_year = deadline.dt.year.fillna(frame["year_from"]).to_numpy(dtype=float)
    dl_month = deadline.dt.month.fillna(12).to_numpy(dtype=float)
    dl_day = deadline.dt.day.fillna(31).to_numpy(dtype=float)
    dated = timing.isin(["year", "deadline"]).to_numpy()
    kept = dated & (dl_year < fp_year)
    recurring = kept & timing.eq("year").to_numpy() & frame["window"].eq("ytd").to_numpy() \
        & frame["aggregation"].eq("flow").to_numpy()
    own = dated & ~recurring                      # else the figure's year end is the horizon
    dl_year, dl_month, dl_day = (np.where(own, dl_year, fp_year), np.where(own, dl_month, 12),
                                 np.where(own, dl_day, 31))
    frame["standing"] = (timing.eq("from").to_numpy() | (kept & ~recurring)) & has
    frame["_dl"] = np.where(has, dl_year * 10000 + dl_month * 100 + dl_day, np.nan)
    dl_idx = dl_year * 12 + dl_month
    left = np.maximum(dl_idx - frame["fp_end"].to_numpy(dtype=float), 0.0)
    left = np.where(frame["standing"].to_numpy() & ~timing.eq("from").to_numpy(), 0.0, left)
    frame["months_left"] = np.where(frame["target"].notna(), left, np.nan)
    frame["_dl_idx"] = dl_idx
    # the deadline's period or later (a figure period ends on a month's last day)
    frame["_due"] = frame["fp_end"].to_numpy(dtype=float) >= dl_idx


def expected_values(frame: pd.DataFrame, baseline: np.ndarray, baseline_end: np.ndarray) -> None:
    """Adds baseline and expected (序时进度: the value a status is judged against), in place."""
    target = frame["target"].to_numpy(dtype=float)
    lower = frame["direction"].eq("lower").to_numpy()
    path = (frame["judge"].eq("reach") & ~frame["standing"].astype(bool)
            & ~frame["_due"].astype(bool)).to_numpy()
    now = frame["fp_end"].to_numpy(dtype=float)
    dl = frame["_dl_idx"].to_numpy(dtype=float)
    b, be = baseline.astype(float), baseline_end.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = dl - be
        frac = np.where(total > 0, np.clip((now - be) / total, 0.0, 1.0), 1.0)
        along = b + (target - b) * frac
        already = np.where(lower, b <= target, b >= target)        # the baseline meets it
    expected = np.where(path & ~already, along, target)
    frame["baseline"] = np.where(path, b, np.nan)
    frame["expected"] = np.where(np.isnan(target), np.nan, expected)


def judge(frame: pd.DataFrame, min_share: float) -> None:
    """Adds actual's verdict: status, rated, gap, completion, tolerance, on_track, needed (in place).

    Order of the not-rated statuses: 未报送 (nothing at all), 数据不全 (part of the months or of
    the owing units), 无业务 (0/0), 无目标; then 达标 / 接近 / 未达标 against `expected`.
    """
    actual = frame["actual"].to_numpy(dtype=float)
    target = frame["target"].to_numpy(dtype=float)
    expected = frame["expected"].to_numpy(dtype=float)
    lower = frame["direction"].eq("lower").to_numpy()
    own = frame["own"].astype(bool).to_numpy()
    reporters = frame["reporters"].to_numpy(dtype=float)
    owing = frame["expected_reporters"].to_numpy(dtype=float)
    partial = frame["partial_reporters"].to_numpy(dtype=float)
    has_data = np.where(own, frame["numerator"].notna().to_numpy(), reporters + partial > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        enough = np.where(own, frame["complete"].astype(bool).to_numpy(),
                          (reporters > 0) & (reporters >= min_share * owing - 1e-9))
    zero_den = (frame["kind"].ne("count").to_numpy() & frame["denominator"].notna().to_numpy()
                & (frame["denominator"].fillna(-1).to_numpy() == 0))
    pct = frame["unit"].eq("%").to_numpy()
    tol_setting = frame["tolerance_setting"].to_numpy(dtype=float)
    tolerance = np.where(pct, tol_setting, tol_setting * np.abs(target))
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.where(lower, expected - actual, actual - expected)
        met = np.round(diff, 9) >= 0
        near = np.abs(diff) <= tolerance + 1e-9
    status = np.select(
        [~has_data, ~enough, zero_den, np.isnan(target) | np.isnan(actual), met, near],
        [st.MISSING, st.PARTIAL, st.NO_BUSINESS, st.NO_TARGET, st.MET, st.NEAR], st.SHORT)
    rated = np.isin(status, st.RATED)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.where(lower, target - actual, actual - target)
        completion = np.where(lower, np.where(actual == 0, np.nan, target / actual * 100),
                              np.where(target == 0, np.nan, actual / target * 100))
    months_left = frame["months_left"].to_numpy(dtype=float)
    short_of_target = np.round(gap, 9) < 0
    with np.errstate(invalid="ignore", divide="ignore"):
        needed = np.where(short_of_target, np.where(months_left > 0, -gap / months_left, np.nan), 0.0)
    frame["status"] = status
    frame["rated"] = rated
    frame["gap"] = np.where(rated, gap, np.nan)
    frame["completion"] = np.where(rated, completion, np.nan)
    frame["tolerance"] = np.where(np.isnan(target), np.nan, tolerance)
    frame["on_track"] = pd.array(np.where(rated, met, False), dtype="boolean")
    frame.loc[~rated, "on_track"] = pd.NA
    frame["needed_per_month"] = np.where(rated, needed, np.nan)


def add_ranks(frame: pd.DataFrame, decimals: dict[str, int], by: list[str]) -> None:
    """Competition ranks (1, 2, 2, 4) among rated non-parent rows, on the value as displayed.

    rank_ties: how many rows share the rank (a tie is named as one; nobody is first or last
    when all share a value).
    """
    rankable = frame["rated"].astype(bool) & ~frame["is_parent"].astype(bool)
    frame["rank"] = np.nan
    frame["rank_of"] = np.nan
    frame["rank_ties"] = np.nan
    if not rankable.any():
        return
    sub = frame[rankable]
    shown = np.array([round(a, decimals.get(u, 0)) for a, u in zip(sub["actual"], sub["unit"])])
    key = pd.Series(np.where(sub["direction"].eq("lower"), shown, -shown), index=sub.index)
    groups = [sub[c] for c in by]
    frame.loc[rankable, "rank"] = key.groupby(groups).rank(method="min")
    frame.loc[rankable, "rank_of"] = key.groupby(groups).transform("size")
    frame.loc[rankable, "rank_ties"] = key.groupby([*groups, key]).transform("size")


def streaks(history: pd.DataFrame) -> pd.Series:
    """Consecutive rated 未达标 periods per (region, indicator), counted back from step 0.

    history: one row per (region, indicator, step) with `step` (0 = the period itself, 1 = the
    one before …) and status; any other status — not rated included — ends the streak.
    """
    hist = history[["region_code", "indicator_code", "step", "status"]]
    size = hist.groupby(KEY)["step"].size()
    breaks = hist[hist["status"] != st.SHORT].groupby(KEY)["step"].min()
    return breaks.reindex(size.index).fillna(size).astype(int)


def runs(frame: pd.DataFrame, cap: dict[str, int]) -> np.ndarray:
    """Streak of every row of a table of figures: consecutive rated 未达标 figure periods of the
    same type ending at the row (DESIGN: a period not rated ends a streak), capped at cap[type].

    frame: region_code, indicator_code, view_basis, fp_type, fp_end, status — every figure
    period of the stored range present, so consecutive rows are consecutive periods.
    """
    order = frame.sort_values(["region_code", "indicator_code", "view_basis", "fp_type", "fp_end"])
    group = ["region_code", "indicator_code", "view_basis", "fp_type"]
    short = order["status"].eq(st.SHORT)
    # a new run starts at each row that is not short: count those so far within the group
    breaks = (~short).astype(int).groupby([order[c] for c in group]).cumsum()
    length = short.astype(int).groupby([*(order[c] for c in group), breaks]).cumsum()
    capped = np.minimum(length.to_numpy(), order["fp_type"].map(cap).to_numpy())
    return pd.Series(capped, index=order.index).reindex(frame.index).to_numpy()

