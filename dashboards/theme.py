"""Colours, symbols, fonts and number formats shared by figures and components.

Status colours follow the Okabe–Ito colour-blind-safe palette, and every status also has a
symbol and a word, so nothing is told by colour alone.
"""
from __future__ import annotations


FONT_FAMILY = '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif'

from pipelines.metrics.status import RATED, STATUSES, display_decimals, gap_decimals  # noqa: F401 (re-exported)

# Every status has its own symbol, word and class. Rated ones are coloured (Okabe–Ito blue,
# orange, vermillion); the five that are not rated are neutral greys, told apart by symbol,
# word and pattern — none of them may read as a red or a green.
STATUS_SYMBOL = {"达标": "✓", "接近": "≈", "未达标": "✗", "未报送": "—", "数据不全": "◔",
                 "无业务": "∅", "未到期": "…", "无目标": "○"}
STATUS_CLASS = {"达标": "met", "接近": "near", "未达标": "short", "未报送": "missing",
                "数据不全": "partial", "无业务": "nobusiness", "未到期": "notdue", "无目标": "none"}
STATUS_COLOR = {"达标": "#0072B2", "接近": "#E69F00", "未达标": "#D55E00",
                "未报送": "#BBBBBB", "数据不全": "#C9C9C9", "无业务": "#DDDDDD",
                "未到期": "#EEEEEE", "无目标": "#E8E8E8"}
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


# A figure that counts a value not approved in review (metrics column `unreviewed`).
UNREVIEWED_SYMBOL = "※"
UNREVIEWED_WORD = "待审"
UNREVIEWED_TITLE = "含未经审核通过的数据（待审核或被退回），以上级单位审核通过后为准"


def unreviewed(row) -> bool:
    """Does this metrics row count a value not approved in review?"""
    value = row.get("unreviewed") if hasattr(row, "get") else None
    return bool(flag(value))


def unreviewed_mark(row):
    """The visible mark of such a figure: '※待审' superscript with its explanation, or None."""
    if not unreviewed(row):
        return None
    from dash import html
    return html.Sup(f"{UNREVIEWED_SYMBOL}{UNREVIEWED_WORD}", className="unreviewed-mark", title=UNREVIEWED_TITLE,
                    **{"data-unreviewed": "true"})


def flag(value) -> bool | None:
    """A boolean column value that may be missing (pd.NA / None / NaN) → True, False or None."""
    return None if is_missing(value) else bool(value)


def fmt_value(value, unit: str, decimals: int | None = None) -> str:
    """A value in its unit for display: 81.5%, 25家, 3.2工作日; '—' when unknown."""
    if is_missing(value):
        return "—"
    return f"{fmt_number(value, unit, decimals)}{unit}"


def row_decimals(row) -> int:
    """Decimals of a figure row's actual and gap: one more where rounding would hide the gap's
    sign (metrics.status.gap_decimals); rows that are not rated have no gap."""
    def get(key):
        v = row.get(key)
        return None if is_missing(v) else float(v)
    rated = row.get("status") in RATED
    return gap_decimals(row["unit"], get("gap") if rated else None, get("actual"), get("target"))


def fmt_number(value, unit: str, decimals: int | None = None) -> str:
    """A number at the one precision figures are shown and ranked at (metrics.status), or at
    `decimals` (row_decimals)."""
    if is_missing(value):
        return "—"
    value = float(value)
    if decimals is None:
        decimals = display_decimals(unit)
        if decimals == 0 and not value.is_integer():
            decimals = 2
    text = f"{value:,.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text.replace(",", "")) == 0 else text


def _gap_body(gap: float, unit: str, decimals: int) -> str:
    """|gap| as shown; a shortfall still too small at `decimals` reads '<0.001', never '0.000'."""
    body = fmt_number(abs(gap), unit, decimals)
    if gap < -1e-9 and float(body.replace(",", "")) == 0:
        return "<" + fmt_number(10 ** -decimals, unit, decimals)
    return body


def _sign(gap: float, unit: str, decimals: int) -> str:
    if gap < -1e-9:
        return "−"
    return "+" if float(fmt_number(gap, unit, decimals).replace(",", "")) > 0 else "±"


def fmt_gap(gap, unit: str, decimals: int | None = None) -> str:
    """Signed gap: +1.20个百分点 / −3家; '—' when unknown. Without `decimals`, one more than the
    display precision when rounding would make it read 0."""
    if is_missing(gap):
        return "—"
    d = gap_decimals(unit, float(gap)) if decimals is None else decimals
    return f"{_sign(gap, unit, d)}{_gap_body(gap, unit, d)}{'个百分点' if unit == '%' else unit}"


def fmt_gap_short(gap, unit: str, decimals: int | None = None) -> str:
    """Compact signed gap for heatmap cells: +1.20 / −3."""
    if is_missing(gap):
        return ""
    d = gap_decimals(unit, float(gap)) if decimals is None else decimals
    return f"{_sign(gap, unit, d)}{_gap_body(gap, unit, d)}"


def fmt_target(comparator, target, unit: str) -> str:
    """'≥70%', '≤15工作日', '≥99.5%': a target as the plan writes it (no padded decimals)."""
    if is_missing(target):
        return "无目标"
    sign = {">=": "≥", "<=": "≤"}.get(comparator or "", "")
    number = f"{float(target):,.{max(display_decimals(unit), 2)}f}"
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return f"{sign}{number}{unit}"


def fmt_time(value) -> str:
    if is_missing(value):
        return "—"
    try:
        return value.strftime("%Y-%m-%d %H:%M")
    except (AttributeError, ValueError):
        return str(value)
