"""Reporting periods: months `2024-03`, quarters `2024Q1`, years `2024`.

`parse_period` accepts the forms officials write (DESIGN.md "Periods") and rejects what is
ambiguous, with a Chinese reason that says how to fix it.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


class PeriodError(ValueError):
    """A period that cannot be read unambiguously; the message is Chinese and says the fix."""


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month_from: int
    month_to: int

    @property
    def type(self) -> str:
        if self.month_from == self.month_to:
            return "M"
        return "Q" if self.month_to - self.month_from == 2 else "Y"

    @property
    def code(self) -> str:
        if self.type == "M":
            return f"{self.year}-{self.month_from:02d}"
        if self.type == "Q":
            return f"{self.year}Q{self.month_to // 3}"
        return str(self.year)

    @property
    def label(self) -> str:
        """Chinese label for users: 2024年3月, 2024年第一季度, 2024年."""
        if self.type == "M":
            return f"{self.year}年{self.month_from}月"
        if self.type == "Q":
            return f"{self.year}年第{'一二三四'[self.month_to // 3 - 1]}季度"
        return f"{self.year}年"

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.month_from, 1)

    @property
    def end(self) -> dt.date:
        if self.month_to == 12:
            return dt.date(self.year, 12, 31)
        return dt.date(self.year, self.month_to + 1, 1) - dt.timedelta(days=1)

    def months(self) -> list["Period"]:
        return [Period(self.year, m, m) for m in range(self.month_from, self.month_to + 1)]

    def previous(self) -> "Period":
        """The period of the same type just before this one."""
        n = self.month_to - self.month_from + 1
        m = self.month_from - n
        y = self.year
        if m < 1:
            m += 12
            y -= 1
        return Period(y, m, m + n - 1)

    def __str__(self) -> str:
        return self.code


def due_date(p: Period, due_day: int) -> dt.date:
    """A return is due on `due_day` of the month after its period (clamped to that month's end):
    the settings due_day.月度 / 季度 / 年度 give the day."""
    y, mo = (p.year + 1, 1) if p.month_to == 12 else (p.year, p.month_to + 1)
    nxt = dt.date(y + (mo == 12), 1 if mo == 12 else mo + 1, 1)
    return min(dt.date(y, mo, 1) + dt.timedelta(days=due_day - 1), nxt - dt.timedelta(days=1))


FREQUENCY_OF_TYPE = {"M": "月度", "Q": "季度", "Y": "年度"}


def month(year: int, m: int) -> Period:
    return Period(year, m, m)


def quarter(year: int, q: int) -> Period:
    return Period(year, 3 * q - 2, 3 * q)


def year(y: int) -> Period:
    return Period(y, 1, 12)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)  # full-width digits and letters
    return re.sub(r"\s+", "", text).upper()


_PATTERNS = [
    (re.compile(r"^(\d{4})-(\d{1,2})$"), "M"),
    (re.compile(r"^(\d{4})年(\d{1,2})月(份)?$"), "M"),
    (re.compile(r"^(\d{4})(\d{2})$"), "M"),
    (re.compile(r"^(\d{4})[./](\d{1,2})$"), "M"),
    (re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})$"), "D"),
    (re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"), "D"),
    (re.compile(r"^(\d{4})-?Q([1-4])$"), "Q"),
    (re.compile(r"^(\d{4})年?第?([一二三四1-4])季度?$"), "Q"),
    (re.compile(r"^(\d{4})年?$"), "Y"),
    (re.compile(r"^(\d{4})年度$"), "Y"),
]


def parse_period(value: object) -> Period:
    """Read a period cell. Raises PeriodError (Chinese) for what cannot be read unambiguously."""
    if value is None or (isinstance(value, float) and value != value):
        raise PeriodError("统计期为空：请填写如 2024-03、2024年3月 或 2024年第一季度")
    if isinstance(value, dt.datetime | dt.date):
        return month(value.year, value.month)
    if isinstance(value, bool):
        raise PeriodError(f"统计期“{value}”无法识别：请填写如 2024-03 或 2024年第一季度")
    if isinstance(value, int):
        text = str(value)
        if re.fullmatch(r"\d{6}|\d{4}", text):
            return parse_period(text)
        raise PeriodError(f"统计期“{value}”无法识别：请填写如 2024-03 或 2024年第一季度")
    if isinstance(value, float):
        if value.is_integer():
            return parse_period(int(value))
        raise PeriodError(
            f"统计期“{value:g}”被 Excel 存成了数字，无法区分是1月还是10月：请把该单元格设为文本后"
            "填写 2024-01 或 2024-10 这样的形式")
    text = _normalise(str(value))
    if not text:
        raise PeriodError("统计期为空：请填写如 2024-03、2024年3月 或 2024年第一季度")
    for pattern, kind in _PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        y = int(m.group(1))
        if not 2000 <= y <= 2100:
            break
        if kind == "Y":
            return year(y)
        if kind == "Q":
            return quarter(y, CN_DIGITS[m.group(2)])
        mo = int(m.group(2))
        if not 1 <= mo <= 12:
            raise PeriodError(f"统计期“{value}”的月份 {mo} 不在 1–12 之间：请改为如 {y}-03")
        if kind == "D":
            try:
                dt.date(y, mo, int(m.group(3)))
            except ValueError:
                raise PeriodError(f"统计期“{value}”不是有效日期：请改为如 {y}-{mo:02d}") from None
        return month(y, mo)
    raise PeriodError(f"统计期“{value}”无法识别：请填写如 2024-03、2024年3月、202403 或 2024年第一季度")


def months_between(a: Period, b: Period) -> int:
    """Whole months from the end of a to the end of b."""
    return (b.year - a.year) * 12 + (b.month_to - a.month_to)
