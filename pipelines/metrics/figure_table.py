"""Figures computed when data changes, not when read: the `figures` table (migration 4).

One row per (region, indicator, figure period, view basis) — the figure a view of that period
on that basis shows, judged by the rules of the engine (engine.Metrics.stored_rows), with the
rank among its siblings, its streak and its forecast. `Metrics.gaps` and `Metrics.series`
read it; the engine's own query stays the reference (tests hold the table against it) and the
path for what the table does not hold (other tiers, years outside its range, moments that have
no frozen snapshot).

How it stays true:
- every write that can change a figure marks what it touched in `figure_dirty` in its own
  transaction (values: `mark_values`; targets, regions, settings: `mark`), so that from the
  moment it commits, readers of a marked jurisdiction and indicator compute instead of reading;
- `refresh` recomputes what the marks say — the changed regions and their ancestors, the marked
  indicators, the marked years and the next (baselines of paths), then the ranks of their
  sibling groups, and the streaks and forecasts of those regions — writes it and clears the
  marks, all in one transaction; a crash leaves the marks, so nothing stale is ever read;
- `init` and `python -m pipelines refresh` rebuild everything.
Frozen snapshots (`freeze`) hold the figures as they stood at a moment (a meeting), so that a
replay of it is as fast as the present.
"""
from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd

from ..db import first_row, transaction
from . import judge as jd
from . import trajectory
from .cycle import FREQUENCY_TYPE, STREAK_LOOKBACK
from .status import DECIMALS

PRESENT = 0
# Part of the catalog fingerprint (catalog/definitions.py): a release that changes how figures are
# judged bumps it, and the next `init` rebuilds the table.
RULES_VERSION = "2026-12-honest-status"
KEY = ["region_code", "indicator_code", "figure_period", "view_basis"]
MAX_SNAPSHOTS = 20


# ---------------------------------------------------------------- marks
def mark(con, jurisdiction: str, indicators=None, regions=None, years=None,
         now: dt.datetime | None = None) -> None:
    """Mark figures of a jurisdiction stale (None = every indicator / region / year)."""
    now = now or dt.datetime.now()
    rows = [(jurisdiction, i, r, y, now) for i in (indicators or [None]) for r in (regions or [None])
            for y in (years or [None])]
    con.executemany("INSERT INTO figure_dirty VALUES (?, ?, ?, ?, ?)", rows)


def mark_all(con, now: dt.datetime | None = None) -> None:
    """Everything stale (the catalog, the regions or a setting changed); snapshots are dropped."""
    now = now or dt.datetime.now()
    con.execute("INSERT INTO figure_dirty SELECT code, NULL, NULL, NULL, ? FROM regions "
                "WHERE parent_code IS NULL", [now]).fetchall()
    con.execute("DELETE FROM figures WHERE snapshot_id <> ?", [PRESENT]).fetchall()
    con.execute("DELETE FROM figure_coverage WHERE snapshot_id <> ?", [PRESENT]).fetchall()
    con.execute("DELETE FROM figure_snapshots").fetchall()


def mark_values(con, keys, now: dt.datetime | None = None) -> None:
    """Mark the figures new values touch: keys of (region_code, indicator_code, year)."""
    keys = sorted(set(keys))
    if not keys:
        return
    con.execute("""
        INSERT INTO figure_dirty
        SELECT DISTINCT r.jurisdiction_code, k.indicator_code, k.region_code, k.year, $now
        FROM (SELECT unnest($reg::VARCHAR[]) AS region_code, unnest($ind::VARCHAR[]) AS indicator_code,
                     unnest($yr::INTEGER[]) AS year) k
        JOIN regions r ON r.code = k.region_code""",
                {"reg": [k[0] for k in keys], "ind": [k[1] for k in keys],
                 "yr": [int(k[2]) for k in keys], "now": now or dt.datetime.now()}).fetchall()


def stale(con, jurisdictions, indicators=None) -> bool:
    """Is any figure of these jurisdictions (and indicators) marked stale?"""
    row = first_row(con.execute("""
        SELECT count(*) FROM figure_dirty
        WHERE list_contains($j::VARCHAR[], jurisdiction_code)
          AND ($i::VARCHAR[] IS NULL OR indicator_code IS NULL OR list_contains($i::VARCHAR[], indicator_code))""",
                                {"j": sorted(jurisdictions),
                                 "i": None if indicators is None else sorted(indicators)}))
    return row[0] > 0


def readable(con, snapshot_id: int, jurisdictions, years, indicators=None) -> bool:
    """Can the table answer for these jurisdictions and years: held for them, none stale?"""
    row = first_row(con.execute("""
        SELECT (SELECT count(*) FROM figure_coverage
                WHERE snapshot_id = $s AND list_contains($j::VARCHAR[], jurisdiction_code)
                  AND year_from <= $lo AND year_to >= $hi),
               (SELECT count(*) FROM figure_dirty
                WHERE $s = 0 AND list_contains($j::VARCHAR[], jurisdiction_code)
                  AND ($i::VARCHAR[] IS NULL OR indicator_code IS NULL
                       OR list_contains($i::VARCHAR[], indicator_code)))""",
                                {"s": snapshot_id, "j": sorted(jurisdictions), "lo": min(years),
                                 "hi": max(years), "i": None if indicators is None else sorted(indicators)}))
    return row[0] == len(set(jurisdictions)) and row[1] == 0


def coverage(con, snapshot_id: int = PRESENT) -> dict[str, tuple[int, int]]:
    return {j: (a, b) for j, a, b in con.execute(
        "SELECT jurisdiction_code, year_from, year_to FROM figure_coverage WHERE snapshot_id = ?",
        [snapshot_id]).fetchall()}


def snapshot_for(con, as_of: dt.datetime) -> int | None:
    row = first_row(con.execute("SELECT snapshot_id FROM figure_snapshots WHERE as_of = ?", [as_of]))
    return row[0] if row else None


# ---------------------------------------------------------------- refresh
def years_of(con, jurisdiction: str, as_of=None) -> tuple[int, int]:
    """The years a jurisdiction's figures are kept for: from its first data or target year to
    the latest of its data, its plans and the current year."""
    t = as_of or dt.datetime(9999, 12, 31)
    lo, hi = first_row(con.execute("""
        WITH y AS (
            SELECT v.year FROM return_values v JOIN regions r ON r.code = v.region_code
            WHERE r.jurisdiction_code = $j AND v.loaded_at <= $t
            UNION ALL SELECT t.year_from FROM targets t JOIN regions r ON r.code = t.region_code
            WHERE r.jurisdiction_code = $j AND t.valid_from <= $t
            UNION ALL SELECT year_from FROM plans WHERE jurisdiction_code = $j
            UNION ALL SELECT year_to FROM plans WHERE jurisdiction_code = $j)
        SELECT min(year), max(year) FROM y""", {"j": jurisdiction, "t": t}))
    today = (as_of or dt.datetime.now()).year
    if lo is None:
        return today, today
    return int(lo), max(int(hi), today)


def refresh(con, now: dt.datetime | None = None) -> dict:
    """Recompute what the marks say, in one transaction. Returns counts and seconds.

    The marks are read inside the transaction, and only those are cleared (a delete sees the
    transaction's snapshot): a load that commits while the refresh runs — the server lets
    uploads load beside it (dashboards/store.py) — keeps its marks, whatever their times, and
    its figures are computed from the values until the next refresh."""
    started = time.perf_counter()
    stats = {"jurisdictions": 0, "rows": 0, "seconds": 0.0}
    from .engine import Metrics
    with transaction(con):
        marks = con.execute("SELECT jurisdiction_code, indicator_code, region_code, year, marked_at "
                            "FROM figure_dirty").fetchall()
        if not marks:
            return stats
        upto = max(m[4] for m in marks)
        by_jur: dict[str, list] = {}
        for j, i, r, y, _ in marks:
            by_jur.setdefault(j, []).append((i, r, y))
        m = Metrics(con)
        for jur, jur_marks in by_jur.items():
            stats["rows"] += _refresh_jurisdiction(con, m, jur, jur_marks)
            stats["jurisdictions"] += 1
        con.execute("DELETE FROM figure_dirty WHERE marked_at <= ?", [upto]).fetchall()
    stats["seconds"] = round(time.perf_counter() - started, 3)
    return stats


def rebuild(con) -> dict:
    """Every figure anew (init, `python -m pipelines refresh`)."""
    with transaction(con):
        mark_all(con)
    return refresh(con)


def _refresh_jurisdiction(con, m, jur: str, marks: list) -> int:
    tree = m.reporting().tree
    if jur not in tree.name:                       # retired: nothing to keep
        _delete(con, PRESENT, regions=_all_codes(con, jur))
        con.execute("DELETE FROM figure_coverage WHERE snapshot_id = ? AND jurisdiction_code = ?",
                    [PRESENT, jur]).fetchall()
        return 0
    lo, hi = years_of(con, jur)
    kept = coverage(con).get(jur)
    everything = kept is None or kept != (lo, hi) or any(i is None or r is None for i, r, _ in marks)
    indicators = sorted({i for i, _, _ in marks if i is not None})
    if not everything:
        have = {i for (i,) in con.execute(
            "SELECT DISTINCT indicator_code FROM figures WHERE snapshot_id = ? AND region_code = ?",
            [PRESENT, jur]).fetchall()}
        everything = bool(set(indicators) - have)  # newly relevant: every region needs its rows
    if everything:
        regions = [jur, *tree.descendants(jur)]
        years = list(range(lo, hi + 1))
        _delete(con, PRESENT, regions=_all_codes(con, jur))
        rows = m.stored_rows(regions, years)
        touched = regions
        indicators = None
    else:
        changed = {r for _, r, _ in marks}
        touched = sorted({a for r in changed for a in tree.ancestors(r)})
        years = sorted({yy for _, _, y in marks for yy in ((y, y + 1) if y is not None else range(lo, hi + 1))
                        if lo <= yy <= hi})
        _delete(con, PRESENT, regions=touched, indicators=indicators, years=years)
        rows = m.stored_rows(touched, years, indicators)
    _insert(con, PRESENT, rows)
    _passes(con, PRESENT, tree, touched, indicators, years)
    con.execute("INSERT OR REPLACE INTO figure_coverage VALUES (?, ?, ?, ?, ?)",
                [PRESENT, jur, lo, hi, dt.datetime.now()]).fetchall()
    return len(rows)


def frozen(con, as_of: dt.datetime, jurisdiction: str) -> bool:
    sid = snapshot_for(con, as_of)
    return sid is not None and jurisdiction in coverage(con, sid)


def freeze(con, as_of: dt.datetime, jurisdictions=None) -> int:
    """A snapshot of the jurisdictions' figures (all by default) as they stood at `as_of` (a
    meeting); jurisdictions already frozen at that moment are kept as they are."""
    from .engine import Metrics
    with transaction(con):
        sid = snapshot_for(con, as_of)
        if sid is None:
            sid = con.execute("INSERT INTO figure_snapshots (as_of, created_at) VALUES (?, ?) "
                              "RETURNING snapshot_id", [as_of, dt.datetime.now()]).fetchall()[0][0]
        m = Metrics(con, as_of=as_of, stored=False)
        tree = m.reporting().tree
        done = coverage(con, sid)
        for jur in jurisdictions or tree.roots():
            if jur in done or jur not in tree.name:
                continue
            lo, hi = years_of(con, jur, as_of)
            regions = [jur, *tree.descendants(jur)]
            _insert(con, sid, m.stored_rows(regions, list(range(lo, hi + 1))))
            _passes(con, sid, tree, regions, None, list(range(lo, hi + 1)))
            con.execute("INSERT INTO figure_coverage VALUES (?, ?, ?, ?, ?)",
                        [sid, jur, lo, hi, dt.datetime.now()]).fetchall()
        old = [s for (s,) in con.execute("SELECT snapshot_id FROM figure_snapshots ORDER BY created_at DESC "
                                         "OFFSET ?", [MAX_SNAPSHOTS]).fetchall()]
        if old:
            con.execute("DELETE FROM figures WHERE snapshot_id IN (SELECT unnest(?::INTEGER[]))", [old]).fetchall()
            con.execute("DELETE FROM figure_coverage WHERE snapshot_id IN (SELECT unnest(?::INTEGER[]))", [old]).fetchall()
            con.execute("DELETE FROM figure_snapshots WHERE snapshot_id IN (SELECT unnest(?::INTEGER[]))", [old]).fetchall()
    return sid


# ---------------------------------------------------------------- writing
def _all_codes(con, jur: str) -> list[str]:
    return [c for (c,) in con.execute("SELECT code FROM regions WHERE jurisdiction_code = ?", [jur]).fetchall()]


def _delete(con, sid: int, *, regions, indicators=None, years=None) -> None:
    con.execute("""
        DELETE FROM figures WHERE snapshot_id = $s AND region_code IN (SELECT unnest($r::VARCHAR[]))
          AND ($i::VARCHAR[] IS NULL OR indicator_code IN (SELECT unnest($i::VARCHAR[])))
          AND ($y::INTEGER[] IS NULL OR fp_year IN (SELECT unnest($y::INTEGER[])))""",
                {"s": sid, "r": list(regions), "i": indicators, "y": years}).fetchall()


def _insert(con, sid: int, rows: pd.DataFrame) -> None:
    if rows.empty:
        return
    from .engine import STORED_COLUMNS
    frame = rows[STORED_COLUMNS].assign(snapshot_id=sid)
    con.register("_figure_rows", frame)
    try:
        # in the order views read them (a basis, a year, a few regions): DuckDB then skips
        # the row groups, and the vectors inside them, that hold none of a view's rows
        con.execute(f"INSERT INTO figures (snapshot_id, {', '.join(STORED_COLUMNS)}) "
                    f"SELECT snapshot_id, {', '.join(STORED_COLUMNS)} FROM _figure_rows "
                    f"ORDER BY view_basis, fp_year, region_code, figure_period").fetchall()
    finally:
        con.unregister("_figure_rows")


def _update(con, sid: int, frame: pd.DataFrame, columns: list[str]) -> None:
    if frame.empty:
        return
    con.register("_figure_update", frame[[*KEY, *columns]])
    try:
        sets = ", ".join(f"{c} = u.{c}" for c in columns)
        con.execute(f"""
            UPDATE figures AS f SET {sets} FROM _figure_update u
            WHERE f.snapshot_id = $s AND f.region_code = u.region_code
              AND f.indicator_code = u.indicator_code AND f.figure_period = u.figure_period
              AND f.view_basis = u.view_basis""", {"s": sid}).fetchall()
    finally:
        con.unregister("_figure_update")


def _read(con, sid: int, where: str, params: dict) -> pd.DataFrame:
    return con.execute(f"""
        SELECT f.region_code, f.indicator_code, f.figure_period, f.view_basis, f.parent_code,
               f.fp_type, f.fp_year, f.fp_end, f.actual, f.rated, f.status, f.judged_on,
               f.own_actual, f.own_complete, i.unit, i.direction, i.kind, i.aggregation,
               i.frequency, i.is_share
        FROM figures f JOIN indicators i ON i.code = f.indicator_code
        WHERE f.snapshot_id = $s AND {where}""", {"s": sid, **params}).df()


def _passes(con, sid: int, tree, regions, indicators, years) -> None:
    """Ranks of the sibling groups of `regions`, then streaks and forecasts of `regions`."""
    parents = sorted({tree.parent.get(r) or "" for r in regions})
    ranked = _read(con, sid, """coalesce(f.parent_code, '') IN (SELECT unnest($p::VARCHAR[]))
        AND ($i::VARCHAR[] IS NULL OR f.indicator_code IN (SELECT unnest($i::VARCHAR[])))
        AND ($y::INTEGER[] IS NULL OR f.fp_year IN (SELECT unnest($y::INTEGER[])))""",
                   {"p": parents, "i": indicators, "y": years})
    if not ranked.empty:
        ranked["is_parent"] = False
        ranked["_group"] = ranked["parent_code"].fillna("")
        jd.add_ranks(ranked, DECIMALS, by=["_group", "indicator_code", "figure_period", "view_basis"])
        _update(con, sid, ranked, ["rank", "rank_of", "rank_ties"])
    mine = _read(con, sid, """f.region_code IN (SELECT unnest($r::VARCHAR[]))
        AND ($i::VARCHAR[] IS NULL OR f.indicator_code IN (SELECT unnest($i::VARCHAR[])))""",
                 {"r": sorted(regions), "i": indicators})
    if mine.empty:
        return
    mine["streak"] = jd.runs(mine, STREAK_LOOKBACK)
    native = mine["frequency"].map(FREQUENCY_TYPE)
    points = mine.loc[(mine["view_basis"] == "period") & (mine["fp_type"] == native)
                      & mine["own_complete"].fillna(False).astype(bool) & mine["own_actual"].notna(),
                      ["region_code", "indicator_code", "fp_end", "own_actual"]]
    points = points.rename(columns={"fp_end": "x", "own_actual": "y"})
    mine["forecast"] = trajectory.forecast(mine, points)
    mine["streak"] = mine["streak"].astype(np.int64)
    _update(con, sid, mine, ["streak", "forecast"])
