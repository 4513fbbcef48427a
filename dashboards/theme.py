"""Colours, symbols, fonts and number formats shared by figures and components.

Status colours follow the Okabe–Ito colour-blind-safe palette, and every status also has a
symbol and a word, so nothing is told by colour alone.
"""
from __future__ import annotations


FONT_FAMILY = '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif'

STATUSES = ("达标", "接近", "未达标", "未报送", "无目标")
STATUS_SYMBOL = {"达标": "✓", "接近": "≈", "未达标": "✗", "未报送": "—", "无目标": "○"}
STATUS_CLASS = {"达标": "met", "接近": "near", "未达标": "short", "未报送": "missing", "无目标": "none"}
# Fill colours (Okabe–Ito blue, orange, vermillion; greys for no data / no target).
STATUS_COLOR = {"达标": "#0072B2", "接近": "#E69F00", "未达标": "#D55E00",
                "未报送": "#BBBBBB", "无目标": "#E8E8E8"}
SUBMISSION_SYMBOL = {"按时": "✓", "逾期": "!", "已更正": "↻", "未报送": "—", "未到期": "…"}
SUBMISSION_CLASS = {"按时": "met", "逾期": "near", "已更正": "revised", "未报送": "short",
                    "未到期": "none"}

SERIES_COLORS = ["#000000", "#0072B2", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#D55E00",
                 "#F0E442"]


def status_text(status: str | None) -> str:
    status = status or "无目标"
    return f"{STATUS_SYMBOL.get(status, '')} {status}"


def is_missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)          # NaN and NaT are not equal to themselves
    except TypeError:                        # pd.NA refuses to be a bool: it is missing
        return True


def flag(value) -> bool | None:
    """A boolean column value that may be missing (pd.NA / None / NaN) → True, False or None."""
    return None if is_missing(value) else bool(value)


def fmt_value(value, unit: str) -> str:
    """A value in its unit for display: 81.5%, 25家, 3.2工作日; '—' when unknown."""
    if is_missing(value):
        return "—"
    return f"{fmt_number(value, unit)}{unit}"


def fmt_number(value, unit: str) -> str:
    if is_missing(value):
        return "—"
    value = float(value)
    if unit in ("%", "工作日") or not value.is_integer():
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def fmt_gap(gap, unit: str) -> str:
    """Signed gap: +1.2个百分点 / −3家; '—' when unknown."""
    if is_missing(gap):
        return "—"
    sign = "+" if gap > 0 else ("−" if gap < 0 else "±")
    body = fmt_number(abs(gap), unit)
    return f"{sign}{body}{'个百分点' if unit == '%' else unit}"


def fmt_gap_short(gap, unit: str) -> str:
    """Compact signed gap for heatmap cells: +1.2 / −3."""
    if is_missing(gap):
        return ""
    sign = "+" if gap > 0 else ("−" if gap < 0 else "±")
    return f"{sign}{fmt_number(abs(gap), unit)}"


def fmt_target(comparator, target, unit: str) -> str:
    if is_missing(target):
        return "无目标"
    sign = {">=": "≥", "<=": "≤"}.get(comparator or "", "")
    return f"{sign}{fmt_value(target, unit)}"


def fmt_time(value) -> str:
    if is_missing(value):
        return "—"
    try:
        return value.strftime("%Y-%m-%d %H:%M")
    except (AttributeError, ValueError):
        return str(value)
