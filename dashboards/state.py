"""What a page shows, read from and written to the URL query string (shareable links).

Keys: jurisdiction, period, basis (period|ytd), indicator, region (comma-separated on the
indicator page), as_of (meeting snapshot, ISO time), mode (meeting), advance (seconds).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from urllib.parse import urlencode

BASES = {"period": "当期", "ytd": "累计"}
PAGE_PATHS = {"overview": "/", "indicator": "/indicator", "district": "/district",
              "submissions": "/submissions", "targets": "/targets", "upload": "/upload",
              "admin": "/admin"}
PAGE_TITLES = {"overview": "总览", "indicator": "指标", "district": "地区",
               "submissions": "报送", "targets": "目标", "upload": "上传", "admin": "管理"}
KEYS = ("jurisdiction", "period", "basis", "indicator", "region", "frequency", "as_of", "mode",
        "advance", "slide")
# Meeting mode's slides of the overview, in the order advance= walks them.
SLIDES = {"grid": "各地区差距", "cards": "本级指标"}


@dataclass(frozen=True)
class ViewState:
    jurisdiction: str | None = None
    period: str | None = None
    basis: str = "period"
    indicator: str | None = None
    region: str | None = None
    frequency: str | None = None
    as_of: str | None = None
    mode: str | None = None
    advance: str | None = None
    slide: str | None = None
    problems: tuple[str, ...] = ()         # Chinese: URL parameters that were corrected (not in URLs)

    @classmethod
    def from_params(cls, params: dict) -> "ViewState":
        """The state a query string asks for; what cannot be used is dropped and said (problems)."""
        values = {k: (str(params[k]).strip() or None) for k in KEYS if params.get(k) is not None}
        problems = []

        def refuse(key: str, why: str) -> None:
            problems.append(f"参数 {key}=“{values.pop(key)}”{why}")
        if values.get("basis") and values["basis"] not in BASES:
            refuse("basis", "无效（应为 period 表示当期，或 ytd 表示累计），已按当期显示")
        if values.get("frequency") and values["frequency"] not in ("月度", "季度", "年度"):
            refuse("frequency", "无效（应为 月度、季度 或 年度），已按月度显示")
        if values.get("mode") and values["mode"] != "meeting":
            refuse("mode", "无效（会议模式应写 mode=meeting），已按普通模式显示")
        if values.get("as_of"):
            when = parse_as_of(values["as_of"])
            if when is None:
                refuse("as_of", "不是有效的时间（应写成 2024-07-10T09:00），已显示最新数据")
            elif when > dt.datetime.now():
                refuse("as_of", "晚于当前时间，快照只能回看过去，已显示最新数据")
        if values.get("slide") and values["slide"] not in SLIDES:
            refuse("slide", "无效（应为 grid 或 cards），已显示各地区差距")
        return cls(**values, problems=tuple(problems))

    @property
    def as_of_time(self) -> dt.datetime | None:
        return parse_as_of(self.as_of)

    @property
    def meeting(self) -> bool:
        return self.mode == "meeting"

    @property
    def slide_key(self) -> str:
        """The overview's meeting slide shown (the heatmap unless the URL names another)."""
        return self.slide or "grid"

    @property
    def advance_seconds(self) -> int | None:
        """Meeting mode's auto-advance interval (advance=seconds, at least 5), else None."""
        if not self.meeting or not self.advance:
            return None
        try:
            return max(5, int(self.advance))
        except ValueError:
            return None

    @property
    def year(self) -> int | None:
        return int(self.period[:4]) if self.period and self.period[:4].isdigit() else None

    @property
    def regions(self) -> list[str]:
        return [r for r in (self.region or "").split(",") if r]

    def with_(self, **changes) -> "ViewState":
        return replace(self, **changes)

    def noting(self, problem: str) -> "ViewState":
        """This state with one more corrected URL parameter to tell the user about."""
        return replace(self, problems=self.problems + (problem,))

    def query(self, **changes) -> str:
        """'?jurisdiction=…&period=…' for this state with `changes` applied (None drops a key)."""
        pairs = []
        for k in KEYS:
            v = changes[k] if k in changes else getattr(self, k)
            if v and not (k == "basis" and v == "period"):
                pairs.append((k, v))
        return "?" + urlencode(pairs, safe=",:") if pairs else ""

    def href(self, page: str, **changes) -> str:
        return PAGE_PATHS[page] + self.query(**changes)


def parse_as_of(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return None


def period_label(code: str | None) -> str:
    """Chinese label of a period code: 2024-03 → 2024年3月, 2024Q1 → 2024年第一季度."""
    if not code:
        return "—"
    from pipelines.periods import PeriodError, parse_period
    try:
        return parse_period(code).label
    except PeriodError:
        return code
