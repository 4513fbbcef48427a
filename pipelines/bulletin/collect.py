"""Ask the Metrics API for everything the bulletin shows (no SQL here, nothing recomputed)."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from ..periods import Period, month, parse_period, quarter as make_quarter, year
from .model import Bulletin, build_sections, child_term, summarise_submissions

MAX_TREND_CHARTS = 4


def as_quarter(value) -> Period:
    p = value if isinstance(value, Period) else parse_period(value)
    if p.type != "Q":
        raise ValueError(f"统计期“{value}”不是季度：季度通报请填写如 2024Q3 或 2024年第三季度")
    return p


def _series(m, code: str, section_info, q: Period) -> pd.DataFrame | None:
    freq = {"月度": "M", "季度": "Q"}.get(section_info["frequency"], "Y")
    start = {"M": month(q.year - 1, 1), "Q": make_quarter(q.year - 1, 1)}.get(freq, year(q.year - 3))
    end = {"M": month(q.year, q.month_to), "Q": q}.get(freq, year(q.year))
    return m.series(code, section_info["code"], start, end, freq=freq)


def _is_demo(m, code: str, sections, q: Period) -> bool:
    """True when any figure shown comes from demo returns (submissions channel 'demo')."""
    for s in sections:
        if not (s.parent.has_value or any(f.has_value for f in s.children)):
            continue
        prov = m.provenance(code, s.info.code, q)
        if not prov.empty and (prov["channel"] == "demo").any():
            return True
    return False


def collect(m, quarter, region: str, issue_date: dt.date | None = None) -> Bulletin:
    """Everything one jurisdiction's (or region's) bulletin for `quarter` shows."""
    q = as_quarter(quarter)
    code = m.resolve_region(region)
    tree = m.regions(code)
    me = tree[tree["code"] == code].iloc[0]
    kids = tree[tree["parent_code"] == code]
    jurisdiction = code if pd.isna(me["parent_code"]) else _root_of(m, code)
    indicators = m.indicators(jurisdiction)
    gaps = m.gaps(q, region=code)
    prev = m.gaps(q.previous(), region=code)
    sections = build_sections(gaps, prev, indicators, q)
    wanted = [s.info.code for s in sections if s.parent.target is not None and s.parent.has_value]
    wanted = set(wanted[:MAX_TREND_CHARTS])       # series only for the trends that are drawn
    by_code = {row["code"]: row for _, row in indicators.iterrows()}
    for s in sections:
        if s.info.code in wanted:
            s.trend = _series(m, code, by_code[s.info.code], q)
    order = list(tree["code"])
    subs = []
    due = {s.info.frequency for s in sections}      # only returns that are actually due
    for freq, label, periods in (("月度", "月报", [p.code for p in q.months()]),
                                 ("季度", "季报", [q.code]), ("年度", "年报", [str(q.year)])):
        if freq not in due:
            continue
        frame = m.submission_status(jurisdiction, q.year, freq)
        if not frame.empty and code != jurisdiction:
            below = set(m.regions(code)["code"])
            frame = frame[frame["region_code"].isin(below)]
        subs.append(summarise_submissions(frame, periods, label, order))
    as_of = m.as_of
    return Bulletin(
        jurisdiction_code=code, jurisdiction_name=str(me["name"]), level=str(me["level"] or ""),
        quarter=q, issue_date=issue_date or (as_of.date() if as_of else dt.date.today()),
        as_of=as_of, data_as_of=m.data_as_of(jurisdiction),
        child_term=child_term(list(kids["level"].fillna(""))), sections=sections,
        submissions=subs, is_demo=_is_demo(m, code, sections, q),
        targets=m.targets_table(jurisdiction), indicator_frame=indicators)


def _root_of(m, code: str) -> str:
    """The jurisdiction a non-root region belongs to (walk up through Metrics.regions)."""
    for _, j in m.jurisdictions().iterrows():
        if code in set(m.regions(j["code"])["code"]):
            return str(j["code"])
    return code
