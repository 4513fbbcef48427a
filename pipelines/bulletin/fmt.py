"""Number formatting for the bulletin: every figure is formatted here, once, and the string reused.

The Word text, the Word tables and the chart labels all take their numbers from the strings
built here, so a number can never read differently in two places. The Excel annex stores the
raw values with a number format that shows the same digits (`excel_format`).
"""
from __future__ import annotations

import math

PERCENT = "%"
COUNT_UNITS = {"家", "个", "项", "次"}
DASH = "—"

CN_NUMERALS = "零一二三四五六七八九十"


def is_missing(x) -> bool:
    """None, NaN, pd.NA or NaT (any scalar 'unknown')."""
    if x is None:
        return True
    if isinstance(x, float):
        return math.isnan(x)
    try:
        import pandas as pd
        result = pd.isna(x)
    except (TypeError, ValueError):
        return False
    return bool(result) if isinstance(result, bool) or getattr(result, "shape", None) == () else False


def decimals_for(unit: str, role: str, value: float | None = None) -> int:
    """How many decimals a figure of this unit and role shows.

    role: value (an actual or a change), target, gap, rate (完成率, always %).
    """
    if role == "rate":
        return 1
    if role == "target":
        if value is None or is_missing(value):
            return 0
        for d in range(0, 3):
            if abs(round(value, d) - value) < 1e-9:
                return d
        return 2
    if unit in COUNT_UNITS:
        if value is not None and not is_missing(value) and abs(round(value) - value) > 1e-9:
            return 2
        return 0
    return 2


def fmt_number(x, unit: str = "", role: str = "value") -> str:
    """The one formatting function: a bare number (no unit), '—' when unknown."""
    if is_missing(x):
        return DASH
    d = decimals_for(unit, role, float(x))
    text = f"{float(x):.{d}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text


def parse_number(text: str) -> float | None:
    """Inverse of fmt_number (for tests and round trips): '—' → None."""
    text = text.strip().lstrip("≥≤+").rstrip("%")
    if text in ("", DASH):
        return None
    return float(text)


def with_unit(number_text: str, unit: str) -> str:
    """'67.55' + '%' → '67.55%'; '12' + '家' → '12家'; '3.5' + '工作日' → '3.5个工作日'."""
    if unit == PERCENT:
        return f"{number_text}%"
    if unit == "工作日":
        return f"{number_text}个工作日"
    return f"{number_text}{unit}"


def gap_unit(unit: str) -> str:
    """The unit a difference is read in: percentage points for rates."""
    return "个百分点" if unit == PERCENT else ("个工作日" if unit == "工作日" else unit)


def with_gap_unit(number_text: str, unit: str) -> str:
    return f"{number_text}{gap_unit(unit)}"


def excel_format(unit: str, role: str = "value", value: float | None = None) -> str:
    d = decimals_for(unit, role, value)
    return "0" if d == 0 else "0." + "0" * d


def cn_count(n: int) -> str:
    """Chinese numeral for a count in prose: 2 → 两, 3 → 三, 12 → 十二, 25 → 25."""
    if n == 2:
        return "两"
    if 0 <= n <= 10:
        return CN_NUMERALS[n]
    if n < 20:
        return "十" + CN_NUMERALS[n - 10]
    return str(n)


def rounded(x, unit: str, role: str = "value") -> float | None:
    """The value as shown (used to derive differences that agree with the shown numbers)."""
    if is_missing(x):
        return None
    return float(fmt_number(x, unit, role))
