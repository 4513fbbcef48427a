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


class BulletinInputError(ValueError):
    """The bulletin cannot be written for these inputs (Chinese message; nothing written)."""


def check_inputs(m, q: Period, jurisdiction: str, issue_date: dt.date) -> None:
    """A future quarter, a quarter without data, an issue date before the quarter ends."""
    today = (m.as_of.date() if m.as_of else dt.date.today())
    end = dt.date(q.year + (q.month_to == 12), q.month_to % 12 + 1, 1)
    if end > today:
        raise BulletinInputError(f"{q.label}尚未结束（{end - dt.timedelta(days=1):%Y-%m-%d}结束），"
                                 "不能生成该季度的通报")
    if issue_date < end:
        raise BulletinInputError(f"成文日期{issue_date:%Y-%m-%d}早于{q.label}结束，请填写{end:%Y-%m-%d}或之后的日期")
    months = {p.code for p in q.months()}
    have = set(m.periods(jurisdiction, "M")) | set(m.periods(jurisdiction, "Q")) | set(m.periods(jurisdiction, "Y"))
    if not (months | {q.code, str(q.year)}) & have:
        raise BulletinInputError(f"{q.label}没有任何报送数据，无法生成通报：请先导入该季度的报表")


def main_plan(targets: pd.DataFrame | None, codes: set[str]) -> dict | None:
    """The plan most of the shown indicators' targets come from, and its last target year."""
    if targets is None or targets.empty:
        return None
    rows = targets[targets["indicator_code"].isin(codes)] if codes else targets
    if rows.empty:
        rows = targets
    code = rows["plan_code"].value_counts().index[0]
    plan = targets[targets["plan_code"] == code]
    years = [int(y) for y in plan["year_from"].dropna()]
    years += [pd.Timestamp(d).year for d in plan["deadline"].dropna()]
    first = plan.iloc[0]
    return {"code": str(code), "title": str(first["plan_title"]),
            "doc_number": None if pd.isna(first["doc_number"]) else str(first["doc_number"]),
            "last_year": max(years) if years else None}


def collect(m, quarter, region: str, issue_date: dt.date | None = None,
            serial: int | None = None, check: bool = True) -> Bulletin:
    """Everything one jurisdiction's (or region's) bulletin for `quarter` shows."""
    from . import settings as bulletin_settings
    q = as_quarter(quarter)
    code = m.resolve_region(region)
    issue_date = issue_date or (m.as_of.date() if m.as_of else dt.date.today())
    tree = m.regions(code)
    me = tree[tree["code"] == code].iloc[0]
    kids = tree[tree["parent_code"] == code]
    jurisdiction = code if pd.isna(me["parent_code"]) else _root_of(m, code)
    if check:
        check_inputs(m, q, jurisdiction, issue_date)
    conf = bulletin_settings.load(m, jurisdiction)
    indicators = m.indicators(jurisdiction)
    gaps = m.gaps(q, region=code)
    prev = m.gaps(q.previous(), region=code)
    sections = build_sections(gaps, prev, indicators, q)
    parents = gaps[gaps["is_parent"]] if not gaps.empty else gaps
    not_due = [] if parents.empty else list(dict.fromkeys(
        parents.loc[parents["status"] == "未到期", "indicator_name"].astype(str)))
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
        summary = summarise_submissions(frame, periods, label, order)
        if code == jurisdiction:        # 报送率 of the year so far (metrics/reporting_rate.py)
            so_far = {"月度": [f"{q.year}-{mo:02d}" for mo in range(1, q.month_to + 1)],
                      "季度": [f"{q.year}Q{k}" for k in range(1, (q.month_to - 1) // 3 + 2)],
                      "年度": [str(q.year)]}[freq]
            summary.year_rate = m.reporting_rate(jurisdiction, q.year, freq).through(so_far)
        subs.append(summary)
    as_of = m.as_of
    targets = m.targets_table(jurisdiction)
    return Bulletin(
        jurisdiction_code=code, jurisdiction_name=str(me["name"]), level=str(me["level"] or ""),
        quarter=q, issue_date=issue_date,
        as_of=as_of, data_as_of=m.data_as_of(jurisdiction),
        settings=conf, serial=serial, plan=main_plan(targets, {s.info.code for s in sections}),
        not_due=not_due, regions=tree,
        child_term=child_term(list(kids["level"].fillna(""))), sections=sections,
        submissions=subs, is_demo=_is_demo(m, code, sections, q),
        reviewed_only=bool(getattr(m, "reviewed_only", False)),
        unreviewed=m.unreviewed_submissions(code, _quarter_periods(q)),
        targets=targets, indicator_frame=indicators)


def _quarter_periods(q) -> list[str]:
    """The period codes a return for the quarter can carry: its months, itself, its year."""
    return [p.code for p in q.months()] + [q.code, str(q.year)]


def _root_of(m, code: str) -> str:
    """The jurisdiction a non-root region belongs to (walk up through Metrics.regions)."""
    for _, j in m.jurisdictions().iterrows():
        if code in set(m.regions(j["code"])["code"]):
            return str(j["code"])
    return code
