"""The eight statuses of a figure and the precision figures are shown and ranked at.

DESIGN "Gaps and status": three statuses rate a figure against its target, five say why a
figure is not rated. Only rated figures count in tallies (指标达标 x/y), ranks and streaks.
No pandas here: the dashboard imports it at start-up for its words, symbols and colours.
"""
from __future__ import annotations

MET, NEAR, SHORT = "达标", "接近", "未达标"
MISSING = "未报送"          # owed, nothing reported (never shown as zero)
PARTIAL = "数据不全"        # part of the period's months, or of the owing units, reported
NO_BUSINESS = "无业务"      # 分子 0 and 分母 0: a valid report of a period with no cases
NOT_DUE = "未到期"          # the indicator has no figure for a period like this one
NO_TARGET = "无目标"        # a complete figure, but no target applies

RATED = (MET, NEAR, SHORT)
NOT_RATED = (MISSING, PARTIAL, NO_BUSINESS, NOT_DUE, NO_TARGET)
STATUSES = RATED + NOT_RATED

# How many decimals a figure of each unit is shown with — the one precision the dashboard, the
# bulletin and the exports use, and the one ranks and ties are decided at (DESIGN "Gaps and
# status": competition ranks on the value as displayed).
DECIMALS = {"%": 2, "工作日": 2}
COUNT_DECIMALS = 0


def display_decimals(unit: str) -> int:
    return DECIMALS.get(unit, COUNT_DECIMALS)


def gap_decimals(unit: str, gap=None, actual=None, target=None) -> int:
    """Decimals for a figure shown beside its gap: the display precision, one more when rounding
    at it would hide the gap's sign — the gap would read 0, or the actual would read as the
    target ("100.00 −0.00 ≈接近" becomes "99.996 −0.004"). The one rule the dashboard's numbers
    and its exports follow."""
    d = display_decimals(unit)
    numbers = [v for v in (gap, actual, target) if v is not None and v == v]
    if d == 0 and any(not float(v).is_integer() for v in numbers):
        d = 2
    if gap is None or gap != gap or abs(float(gap)) < 1e-12:
        return d
    hidden = round(abs(float(gap)), d) == 0
    if actual is not None and target is not None and actual == actual and target == target:
        hidden = hidden or round(float(actual), d) == round(float(target), d)
    return d + 1 if hidden else d


def is_rated(status) -> bool:
    return status in RATED
