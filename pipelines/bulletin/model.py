"""The bulletin's content as plain objects, built from Metrics frames (no SQL, no recomputation).

`build_bulletin` is pure: it takes the frames the Metrics API returns (gaps for the quarter and
the previous quarter, the indicator list, submission status, series) and turns every number
into a `Figure` whose strings are formatted once (fmt.fmt_number). The text, the Word tables,
the charts and the Excel annex all read these objects.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from ..catalog.model import Indicator
from ..figure_text import judged_note, reporters_text, status_note
from ..metrics.status import NOT_DUE, RATED, STATUSES as _STATUSES
from ..periods import Period
from .fmt import DASH, fmt_number, is_missing, rounded, with_gap_unit, with_unit

STATUSES = list(_STATUSES)
SUBMISSION_STATUSES = ["按时", "逾期", "已更正", "未报送", "未到期"]
TOWN_LEVELS = {"镇", "街道", "乡"}


def _num(x) -> float | None:
    return None if is_missing(x) else float(x)


def _int(x) -> int | None:
    return None if is_missing(x) else int(x)


@dataclass
class Figure:
    """One region × indicator figure with its strings (formatted once, reused everywhere)."""
    region_code: str
    region_name: str
    indicator_code: str
    unit: str
    direction: str
    actual: float | None
    target: float | None
    gap: float | None
    completion: float | None
    status: str
    rank: int | None
    rank_of: int | None
    streak: int
    reporters: int | None
    expected_reporters: int | None
    value_source: str | None
    comparator: str | None
    expected: float | None
    on_track: bool | None
    needed_per_month: float | None
    months_left: int | None
    figure_period: str | None = None
    judged_on: str | None = None
    rank_ties: int | None = None
    row_kind: str | None = None
    judge: str | None = None
    baseline: float | None = None
    note: str = ""           # why the figure is not rated (figure_text.status_note)
    judged: str = ""         # what the figure is when not the quarter's own (judged_note)
    reporting: str = ""      # '15/16 个地区数据齐全' for a roll-up
    actual_s: str = ""
    target_s: str = ""
    gap_s: str = ""          # signed, as in the tables: -2.45
    gap_abs_s: str = ""      # magnitude, as in prose: 2.45
    completion_s: str = ""
    expected_s: str = ""
    needed_s: str = ""

    def __post_init__(self):
        u = self.unit
        self.actual_s = fmt_number(self.actual, u, "value")
        self.target_s = fmt_number(self.target, u, "target")
        self.gap_abs_s = fmt_number(None if self.gap is None else abs(self.gap), u, "value")
        if self.gap is None:
            self.gap_s = DASH
        else:
            self.gap_s = ("-" if self.gap < 0 and float(self.gap_abs_s) != 0 else "") + self.gap_abs_s
        self.completion_s = fmt_number(self.completion, "%", "rate")
        self.expected_s = fmt_number(self.expected, u, "value")
        self.needed_s = fmt_number(self.needed_per_month, u, "value")

    @property
    def has_value(self) -> bool:
        return self.actual is not None

    @property
    def rated(self) -> bool:
        return self.status in RATED

    @property
    def all_tied(self) -> bool:
        """Every ranked unit shares this figure's value (nobody is first or last)."""
        return self.rank_ties is not None and self.rank_of is not None and self.rank_ties >= self.rank_of

    @property
    def period_type(self) -> str:
        """Type of the figure's own period (Y for a yearly indicator in the Q4 bulletin)."""
        fp = self.figure_period or ""
        return "Y" if len(fp) == 4 else ("Q" if "Q" in fp else "M")

    @property
    def actual_u(self) -> str:
        return with_unit(self.actual_s, self.unit)

    @property
    def target_u(self) -> str:
        return with_unit(self.target_s, self.unit)

    @property
    def gap_abs_u(self) -> str:
        return with_gap_unit(self.gap_abs_s, self.unit)

    @classmethod
    def from_row(cls, row) -> "Figure":
        return cls(
            region_code=str(row["region_code"]), region_name=str(row["region_name"]),
            indicator_code=str(row["indicator_code"]), unit=str(row["unit"]),
            direction=str(row["direction"]), actual=_num(row["actual"]), target=_num(row["target"]),
            gap=_num(row["gap"]), completion=_num(row.get("completion")),
            status=str(row["status"]), rank=_int(row.get("rank")), rank_of=_int(row.get("rank_of")),
            streak=_int(row.get("streak")) or 0, reporters=_int(row.get("reporters")),
            expected_reporters=_int(row.get("expected_reporters")),
            value_source=None if is_missing(row.get("value_source")) else str(row.get("value_source")),
            comparator=None if is_missing(row.get("comparator")) else str(row.get("comparator")),
            expected=_num(row.get("expected")),
            on_track=None if is_missing(row.get("on_track")) else bool(row.get("on_track")),
            needed_per_month=_num(row.get("needed_per_month")),
            months_left=_int(row.get("months_left")),
            figure_period=str(row["figure_period"]) if not is_missing(row.get("figure_period"))
            else (None if is_missing(row.get("period")) else str(row["period"])),
            judged_on=None if is_missing(row.get("judged_on")) else str(row["judged_on"]),
            rank_ties=_int(row.get("rank_ties")),
            row_kind=None if is_missing(row.get("row_kind")) else str(row["row_kind"]),
            judge=None if is_missing(row.get("judge")) else str(row["judge"]),
            baseline=_num(row.get("baseline")),
            note=status_note(row), judged=judged_note(row), reporting=reporters_text(row))


@dataclass
class IndicatorSection:
    info: Indicator                     # the catalog's indicator (pipelines/catalog/model.py)
    parent: Figure
    children: list[Figure]              # ranked first (by rank), then unranked in tree order
    target_source: str | None = None    # the parent's target in force: its clause, plan, deadline
    target_plan: str | None = None
    target_deadline: str | None = None
    previous: Figure | None = None      # the parent's figure one quarter earlier
    change_s: str = ""                  # change of the shown values, magnitude
    change_sign: int = 0                # +1 up, -1 down, 0 same; None-like 0 when unknown
    has_change: bool = False
    trend: pd.DataFrame | None = None   # Metrics.series for the parent

    @property
    def ranked(self) -> list[Figure]:
        return [f for f in self.children if f.rank is not None]

    @property
    def best(self) -> list[Figure]:
        """The units ranked first (several when tied); none when all share one value."""
        r = self.ranked
        if len(r) < 2 or r[0].all_tied:
            return []
        return [f for f in r if f.rank == r[0].rank]

    @property
    def worst(self) -> list[Figure]:
        """The units ranked last (several when tied); none when all share one value."""
        r = self.ranked
        if len(r) < 2 or r[-1].all_tied:
            return []
        return [f for f in r if f.rank == r[-1].rank]

    def children_with(self, status: str) -> list[Figure]:
        return [f for f in self.children if f.status == status]


@dataclass
class SubmissionSummary:
    label: str                          # 月报 / 季报
    periods: list[str]
    counts: dict[str, int]
    names: dict[str, list[str]]         # status -> region names (in tree order, unique)
    rows: pd.DataFrame                  # the Metrics.submission_status rows behind it
    year_rate: dict | None = None       # Metrics.reporting_rate over the year to the quarter's end


@dataclass
class Bulletin:
    jurisdiction_code: str
    jurisdiction_name: str
    level: str
    quarter: Period
    issue_date: dt.date
    as_of: dt.datetime | None
    data_as_of: dt.datetime | None
    child_term: str                     # 县（市、区） / 镇（街道）
    sections: list[IndicatorSection]
    submissions: list[SubmissionSummary] = field(default_factory=list)
    is_demo: bool = False
    targets: pd.DataFrame | None = None     # Metrics.targets_table (sources sheet)
    indicator_frame: pd.DataFrame | None = None
    settings: object | None = None          # settings.BulletinSettings
    serial: int | None = None               # 发文字号's serial number, set by the analyst
    plan: dict | None = None                # {'code', 'title', 'doc_number', 'last_year'}
    not_due: list[str] = field(default_factory=list)   # indicators 未到期 this quarter
    regions: pd.DataFrame | None = None     # Metrics.regions(code): the tree below
    has_heatmap: bool = False               # set by the writer when the status chart is drawn
    reviewed_only: bool = False             # figures count approved values only
    unreviewed: pd.DataFrame = field(default_factory=pd.DataFrame)   # Metrics.unreviewed_submissions

    @property
    def closes_plan(self) -> bool:
        """This quarter is the plan's last (Q4 of its last target year): the 终期 bulletin."""
        return bool(self.plan and self.plan.get("last_year") == self.quarter.year
                    and self.quarter.month_to == 12)

    @property
    def doc_number(self) -> str:
        if self.settings is None:
            return f"〔{self.issue_date.year}〕{self.serial if self.serial is not None else '　　'}号"
        return self.settings.doc_number(self.issue_date.year, self.serial)

    @property
    def area(self) -> str:
        """全市 / 全区 / 全县 — how the jurisdiction is named in prose."""
        suffix = self.jurisdiction_name[-1]
        return "全" + (suffix if suffix in "市区县旗" else "域")

    @property
    def authority(self) -> str:
        if self.settings is not None:
            return self.settings.authority
        return f"{self.jurisdiction_name}医疗保障局"

    @property
    def title(self) -> str:
        return f"关于{self.quarter.label}医保便民服务指标完成情况的通报"

    @property
    def title_lines(self) -> list[str]:
        """The title in two lines, the first longer (梯形), broken between words."""
        return [f"关于{self.quarter.label}医保便民服务指标", "完成情况的通报"]

    def status_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for s in self.sections:
            counts[s.parent.status] = counts.get(s.parent.status, 0) + 1
        return counts


def child_term(levels: list[str]) -> str:
    """How the units directly below are named: 县（市、区）, 镇（街道）, or '' when none."""
    if not levels:
        return ""
    levels = [lv for lv in levels if lv]
    if levels and all(lv in TOWN_LEVELS for lv in levels):
        return "镇（街道）"
    return "县（市、区）"


def _by_indicator(gaps: pd.DataFrame | None) -> dict[str, tuple[dict | None, list[dict]]]:
    """indicator code → (the parent's row, the children's rows in tree order), as dicts."""
    out: dict[str, tuple[dict | None, list[dict]]] = {}
    if gaps is None or gaps.empty:
        return out
    for r in gaps.sort_values("sort_order", kind="stable").to_dict("records"):
        parent, children = out.setdefault(str(r["indicator_code"]), (None, []))
        if bool(r["is_parent"]):
            if parent is None:
                out[str(r["indicator_code"])] = (r, children)
        else:
            children.append(r)
    return out


def _ordered_children(children: list[dict]) -> list[Figure]:
    figs = [Figure.from_row(r) for r in children]
    ranked = sorted((f for f in figs if f.rank is not None), key=lambda f: f.rank)
    return ranked + [f for f in figs if f.rank is None]


def include_indicator(frequency: str, quarter: Period) -> bool:
    """A quarterly bulletin covers monthly and quarterly indicators; annual ones in Q4 (the
    metrics say so too: an annual indicator is 未到期 in Q1–Q3)."""
    return frequency in ("月度", "季度") or (frequency == "年度" and quarter.month_to == 12)


def build_sections(gaps: pd.DataFrame, prev_gaps: pd.DataFrame | None, indicators: pd.DataFrame,
                   quarter: Period, series: dict[str, pd.DataFrame] | None = None
                   ) -> list[IndicatorSection]:
    """One section per indicator of the jurisdiction that has a target or data this quarter."""
    sections = []
    series = series or {}
    now, before = _by_indicator(gaps), _by_indicator(prev_gaps)
    for ind in indicators.sort_values("sort_order", kind="stable").to_dict("records"):
        code = ind["code"]
        if not include_indicator(str(ind["frequency"]), quarter):
            continue
        prow, children = now.get(code, (None, []))
        if prow is None:
            continue
        parent = Figure.from_row(prow)
        kids = _ordered_children(children)
        if parent.status == NOT_DUE:
            continue          # nothing due this quarter
        if parent.status == "无目标" and not parent.has_value and not any(k.has_value for k in kids):
            continue          # neither a target nor data: nothing to report
        section = IndicatorSection(
            info=Indicator.from_row({k: None if is_missing(v) else v for k, v in ind.items()}),
            parent=parent, children=kids, trend=series.get(code),
            target_source=None if is_missing(prow.get("target_source")) else str(prow.get("target_source")),
            target_plan=None if is_missing(prow.get("target_plan")) else str(prow.get("target_plan")),
            target_deadline=None if is_missing(prow.get("target_deadline")) else str(prow.get("target_deadline"))[:10])
        prev_parent = before.get(code, (None, []))[0]
        if prev_parent is not None:
            section.previous = Figure.from_row(prev_parent)
            _set_change(section)
        sections.append(section)
    return sections


def _set_change(section: IndicatorSection) -> None:
    """Change from the previous quarter, from the values as shown (so the text adds up)."""
    now = rounded(section.parent.actual, section.info.unit)
    before = rounded(section.previous.actual, section.info.unit)
    complete = {*RATED, "无目标"}
    if now is None or before is None or not {section.parent.status, section.previous.status} <= complete:
        return                  # a partial figure is no basis for a change
    diff = now - before
    section.has_change = True
    section.change_s = fmt_number(abs(diff), section.info.unit, "value")
    section.change_sign = 0 if float(section.change_s) == 0 else (1 if diff > 0 else -1)


def summarise_submissions(frame: pd.DataFrame, periods: list[str], label: str,
                          region_order: list[str]) -> SubmissionSummary:
    rows = frame[frame["period"].astype(str).isin(periods)] if not frame.empty else frame
    counts = {s: int((rows["status"] == s).sum()) if not rows.empty else 0
              for s in SUBMISSION_STATUSES}
    names: dict[str, list[str]] = {}
    order = {code: i for i, code in enumerate(region_order)}
    for s in SUBMISSION_STATUSES:
        sub = rows[rows["status"] == s] if not rows.empty else rows
        seen = []
        for code, name in sorted(zip(sub.get("region_code", []), sub.get("region_name", [])),
                                 key=lambda t: order.get(t[0], 10**6)):
            if name not in seen:
                seen.append(name)
        names[s] = seen
    return SubmissionSummary(label=label, periods=periods, counts=counts, names=names, rows=rows)
