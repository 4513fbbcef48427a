"""Chinese words that explain a figure's status: what is missing, what it was judged on.

One place for these sentences, so that the dashboard's cells, cards and tooltips, the Excel
exports and the bulletin say the same thing. Rows are `Metrics.gaps` / `Metrics.series` rows
(mappings); nothing here computes a figure. No pandas.
"""
from __future__ import annotations

import math

from .metrics import status as st
from .periods import PeriodError, parse_period

FREQUENCY_WHEN = {"年度": "按年报送，在第四季度、12月和全年视图显示当年数据",
                  "季度": "按季报送，在季末月份和季度、全年视图显示",
                  "月度": "按月报送"}


def _missing(x) -> bool:
    if x is None:
        return True
    try:
        return isinstance(x, float) and math.isnan(x)
    except TypeError:
        return False


def _int(x) -> int:
    return 0 if _missing(x) else int(x)


def period_text(code) -> str:
    """'2024年第四季度' for '2024Q4'; the code itself when it is not a period."""
    if _missing(code):
        return ""
    try:
        return parse_period(str(code)).label
    except PeriodError:
        return str(code)


def months_text(months: str | None) -> str:
    """'3' → '3月'; '4,5,6' → '4—6月'; '2,5' → '2、5月'."""
    if _missing(months) or not str(months).strip():
        return ""
    ms = [int(m) for m in str(months).split(",") if m.strip()]
    if len(ms) > 2 and ms == list(range(ms[0], ms[-1] + 1)):
        return f"{ms[0]}—{ms[-1]}月"
    return "、".join(str(m) for m in ms) + "月"


def reporters_text(row) -> str:
    """'15/16 个地区数据齐全' for a roll-up; '' for a region's own figure."""
    if row.get("row_kind") != "rollup" or not _int(row.get("expected_reporters")):
        return ""
    text = f"{_int(row.get('reporters'))}/{_int(row.get('expected_reporters'))} 个地区数据齐全"
    partial = _int(row.get("partial_reporters"))
    if partial:
        text += f"，{partial} 个不全"
    return text


def status_note(row) -> str:
    """Why a figure is not rated, in a short phrase ('' for a rated figure)."""
    status = row.get("status")
    rollup = row.get("row_kind") == "rollup"
    if status == st.NOT_DUE:
        return f"{row.get('frequency') or ''}指标，{FREQUENCY_WHEN.get(row.get('frequency'), '本期不报送')}"
    if status == st.MISSING:
        if rollup:
            return f"尚无地区报送（0/{_int(row.get('expected_reporters'))}）"
        return "本期未报送"
    if status == st.PARTIAL:
        if rollup:
            return reporters_text(row) + "；汇总数只含数据齐全的地区，不作评价"
        gone = months_text(row.get("missing_months"))
        if row.get("aggregation") == "stock":
            last = _int(row.get("last_month"))
            return f"缺{gone}末数据，显示的是{last}月末数，不作评价" if last else f"缺{gone}末数据"
        return f"缺{gone}数据，显示的只是已报月份之和，不作评价" if gone else "数据不全，不作评价"
    if status == st.NO_BUSINESS:
        return "本期无业务（分子、分母均为0），不作评价"
    if status == st.NO_TARGET:
        return "暂无目标，仅作监测"
    return ""


def judged_note(row) -> str:
    """What the shown figure is, when it is not simply the view's period: '全年数据',
    '按1—6月累计判定'."""
    parts = []
    fp, period = row.get("figure_period"), row.get("period")
    if not _missing(fp) and fp != period:
        parts.append(f"{period_text(fp)}数据")
    if row.get("judged_on") == "ytd" and row.get("aggregation") == "flow":
        try:
            p = parse_period(str(fp if not _missing(fp) else period))
        except PeriodError:
            p = None
        if p is not None and not (p.month_from == 1 and p.month_to == 12 and p.type == "Y"):
            parts.append(f"按1—{p.month_to}月累计" + ("判定" if row.get("basis") == "period" else ""))
    return "，".join(parts)
