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
        "advance")


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

    @classmethod
    def from_params(cls, params: dict) -> "ViewState":
        values = {k: (str(params[k]).strip() or None) for k in KEYS if params.get(k) is not None}
        if values.get("basis") not in BASES:
            values.pop("basis", None)
        if values.get("frequency") not in ("月度", "季度", "年度"):
            values.pop("frequency", None)
        if values.get("mode") != "meeting":
            values.pop("mode", None)
        if values.get("as_of") and parse_as_of(values["as_of"]) is None:
            values.pop("as_of")
        return cls(**values)

    @property
    def as_of_time(self) -> dt.datetime | None:
        return parse_as_of(self.as_of)

    @property
    def meeting(self) -> bool:
        return self.mode == "meeting"

    @property
    def year(self) -> int | None:
        return int(self.period[:4]) if self.period and self.period[:4].isdigit() else None

    @property
    def regions(self) -> list[str]:
        return [r for r in (self.region or "").split(",") if r]

    def with_(self, **changes) -> "ViewState":
        return replace(self, **changes)

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
