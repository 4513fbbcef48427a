"""Outlier warnings of a return: a value far from the region's own history, or from its peers.

The rule is the modified z-score of Iglewicz and Hoaglin (1993):

    M = 0.6745 · (x − median) / MAD,     MAD = median(|xᵢ − median|)

over a sample that includes x itself; |M| > `outlier.threshold` (setting, default 3.5, the
authors' recommendation) is an outlier. Medians make it robust: one earlier wild value does not
hide the next one, and a seasonal swing that recurs in the history widens the MAD so that a
value within the usual swing is not flagged. When MAD is 0 (more than half the sample equal),
the mean absolute deviation is used instead, M = (x − median) / (1.253314 · MeanAD); when that
is 0 too (every value equal, x included) there is nothing to flag.

- **History** (`outlier_history`): the region's values of the same indicator and period type
  (month, quarter or year) before this period — the values in force, overlaid by the rows of
  the same file — the latest `HISTORY_PERIODS`; x is this row's value.
- **Peers** (`outlier_peers`): the values of the same indicator and period of the regions with
  the same parent (in force, overlaid by the file's rows), x included.
A sample of fewer than `outlier.min_points` values (setting, default 6, x included) is not judged.
The value judged is the figure of one return row: a rate's numerator/denominator (in %), a
mean's quotient, a count's number; 0/0 (无业务) rows are skipped.
"""
from __future__ import annotations

import bisect
import statistics

HISTORY_PERIODS = 24
CONSISTENCY = 0.6745        # Φ⁻¹(0.75): makes MAD comparable with a standard deviation
MEAN_AD_FACTOR = 1.253314   # √(π/2): the same for the mean absolute deviation
DEFAULT_THRESHOLD = 3.5
DEFAULT_MIN_POINTS = 6


def modified_z(x: float, sample: list[float]) -> float | None:
    """Iglewicz–Hoaglin modified z-score of x within `sample` (which holds x); None when every
    value of the sample is equal."""
    med = statistics.median(sample)
    deviations = [abs(v - med) for v in sample]
    mad = statistics.median(deviations)
    if mad > 0:
        return CONSISTENCY * (x - med) / mad
    mean_ad = sum(deviations) / len(deviations)
    if mean_ad > 0:
        return (x - med) / (MEAN_AD_FACTOR * mean_ad)
    return None


def row_value(ind: dict, numerator, denominator) -> float | None:
    """The figure of one return row, as judged: a rate in its unit, a mean, a count."""
    if numerator is None:
        return None
    if ind["kind"] == "count":
        return float(numerator)
    if not denominator:
        return None
    return float(ind["scale"] if ind["kind"] == "ratio" else 1) * float(numerator) / float(denominator)


def settings(con) -> tuple[float, int]:
    values = dict(con.execute("SELECT key, value FROM settings WHERE key IN "
                              "('outlier.threshold', 'outlier.min_points')").fetchall())
    try:
        threshold = float(values.get("outlier.threshold", DEFAULT_THRESHOLD))
    except ValueError:
        threshold = DEFAULT_THRESHOLD
    try:
        points = int(values.get("outlier.min_points", DEFAULT_MIN_POINTS))
    except ValueError:
        points = DEFAULT_MIN_POINTS
    return threshold, max(points, 3)


def check_setting(key: str, value: str) -> str | None:
    """Why an outlier.* setting value is not acceptable (None when it is)."""
    if key == "outlier.threshold":
        try:
            ok = 0 < float(value) <= 100
        except ValueError:
            ok = False
        return None if ok else f"设置 outlier.threshold 的值“{value}”无效：应为大于 0 的数（建议 3.5）"
    if key == "outlier.min_points":
        return None if value.strip().isdigit() and 3 <= int(value) <= 1000 else \
            f"设置 outlier.min_points 的值“{value}”无效：应为 3 到 1000 之间的整数（建议 6）"
    return None


def _fmt(ind: dict, v: float) -> str:
    if ind["kind"] == "ratio":
        return f"{v:.1f}%"
    return f"{v:g}" if float(v).is_integer() else f"{v:.2f}"


def warnings(con, rows, cat, threshold: float | None = None, min_points: int | None = None) -> list[tuple]:
    """(row, kind, message) for each outlier among the resolved rows (validate._Row) of a batch."""
    from pipelines.periods import Period
    if threshold is None or min_points is None:
        t, p = settings(con)
        threshold = t if threshold is None else threshold
        min_points = p if min_points is None else min_points
    rows = [r for r in rows if r.region_code and r.indicator_code and r.period and r.indicator_code in cat.indicators]
    if not rows:
        return []
    tree = cat.reporting.tree if cat.reporting is not None else None
    # the stored values in force: own history (same region, indicator, period type) and peers
    own_keys = sorted({(r.region_code, r.indicator_code, r.period.type) for r in rows})
    peers_of = {}
    for r in rows:
        parent = tree.parent.get(r.region_code) if tree else None
        if parent is not None:
            peers_of[r.region_code] = set(tree.children.get(parent, []))
    peer_keys = sorted({(c, r.indicator_code, r.period.code) for r in rows for c in peers_of.get(r.region_code, [])})
    stored_own: dict[tuple, dict] = {}
    if own_keys:
        cols = [list(c) for c in zip(*own_keys)]
        for reg, ind, ptype, year, mfrom, mto, num, den in con.execute(
                "SELECT v.region_code, v.indicator_code, v.period_type, v.year, v.month_from, v.month_to, "
                "v.numerator, v.denominator FROM return_values v JOIN (SELECT unnest(?::VARCHAR[]) AS region_code, "
                "unnest(?::VARCHAR[]) AS indicator_code, unnest(?::VARCHAR[]) AS period_type) k "
                "USING (region_code, indicator_code, period_type) WHERE v.superseded_at IS NULL", cols).fetchall():
            stored_own.setdefault((reg, ind, ptype), {})[Period(year, mfrom, mto)] = (num, den)
    stored_peer: dict[tuple, dict] = {}
    if peer_keys:
        cols = [list(c) for c in zip(*peer_keys)]
        for reg, ind, per, num, den in con.execute(
                "SELECT v.region_code, v.indicator_code, v.period, v.numerator, v.denominator FROM return_values v "
                "JOIN (SELECT unnest(?::VARCHAR[]) AS region_code, unnest(?::VARCHAR[]) AS indicator_code, "
                "unnest(?::VARCHAR[]) AS period) k USING (region_code, indicator_code, period) "
                "WHERE v.superseded_at IS NULL", cols).fetchall():
            stored_peer.setdefault((ind, per), {})[reg] = (num, den)
    file_own: dict[tuple, dict] = {}
    file_peer: dict[tuple, dict] = {}
    for o in rows:
        file_own.setdefault((o.file_idx, o.region_code, o.indicator_code, o.period.type), {})[o.period] = \
            (o.raw.numerator, o.raw.denominator)
        file_peer.setdefault((o.file_idx, o.indicator_code, o.period.code), {})[o.region_code] = \
            (o.raw.numerator, o.raw.denominator)
    # Each (file, region, indicator, period type) series and each peer sample is built once:
    # a long table holds one series per region and indicator, and each of its rows is judged
    # against the stretch of that series before it (found by bisection, not by a scan).
    series_of: dict[tuple, tuple[list, list]] = {}
    samples_of: dict[tuple, list[float]] = {}
    out = []
    for r in rows:
        ind = cat.indicators[r.indicator_code]
        x = row_value(ind, r.raw.numerator, r.raw.denominator)
        if x is None:
            continue
        # own history
        key = (r.file_idx, r.region_code, r.indicator_code, r.period.type)
        if key not in series_of:
            series = {**stored_own.get((r.region_code, r.indicator_code, r.period.type), {}), **file_own[key]}
            periods = sorted(series)
            series_of[key] = (periods, [row_value(ind, *series[p]) for p in periods])
        periods, values = series_of[key]
        at = bisect.bisect_left(periods, r.period)
        before = periods[max(0, at - HISTORY_PERIODS):at]
        history = [v for v in values[max(0, at - HISTORY_PERIODS):at] if v is not None]
        if len(history) + 1 >= min_points:
            z = modified_z(x, history + [x])
            if z is not None and abs(z) > threshold:
                med = statistics.median(history + [x])
                out.append((r, "outlier_history",
                            f"{_fmt(ind, x)} 与本地区近 {len(history)} 期（{before[0].label}—{before[-1].label}）"
                            f"相比异常：中位数 {_fmt(ind, med)}，修正 z 分数 {z:.1f}，超过阈值 {threshold:g}。"
                            "请核对；数据无误请在本行“备注”列或报送页面填写说明"))
        # peers
        peers = peers_of.get(r.region_code) or []
        if peers:
            parent = tree.parent.get(r.region_code)
            peer_key = (r.file_idx, r.indicator_code, r.period.code, parent)
            if peer_key not in samples_of:
                values = {**stored_peer.get((r.indicator_code, r.period.code), {}),
                          **file_peer[(r.file_idx, r.indicator_code, r.period.code)]}
                judged = (row_value(ind, *v) for c, v in values.items() if c in peers)
                samples_of[peer_key] = [v for v in judged if v is not None]
            sample = samples_of[peer_key]
            if len(sample) >= min_points:
                z = modified_z(x, sample)
                if z is not None and abs(z) > threshold:
                    out.append((r, "outlier_peers",
                                f"{_fmt(ind, x)} 与{tree.name.get(parent, parent)}下 {len(sample)} 个地区同期相比异常："
                                f"中位数 {_fmt(ind, statistics.median(sample))}，修正 z 分数 {z:.1f}，超过阈值 "
                                f"{threshold:g}。请核对；数据无误请在本行“备注”列或报送页面填写说明"))
    return out
