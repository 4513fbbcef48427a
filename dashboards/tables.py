"""Rows for tables: metrics DataFrames formatted for display (no computation of indicators)."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from dash.dash_table.Format import Format, Scheme

from pipelines.figure_text import judged_note, reporters_text, status_note

from .theme import (RATED, STATUS_SYMBOL, UNREVIEWED_SYMBOL, UNREVIEWED_WORD, display_decimals, flag,
                    is_missing, row_decimals, unreviewed)

if TYPE_CHECKING:
    import pandas as pd

_FIXED = Format(precision=2, scheme=Scheme.fixed)
INDICATOR_COLUMNS = [
    {"id": "region_name", "name": "地区"},
    # actual and gap are rounded in the rows as shown (one more decimal where rounding would
    # hide a gap's sign: row_decimals), so the column shows the row's digits, not a fixed two.
    {"id": "actual", "name": "实际值", "type": "numeric"},
    {"id": "target", "name": "目标", "type": "numeric", "format": _FIXED},
    {"id": "gap", "name": "差距", "type": "numeric"},
    {"id": "completion", "name": "完成率（%）", "type": "numeric", "format": _FIXED},
    {"id": "status", "name": "状态"},
    {"id": "review", "name": "审核"},
    {"id": "note", "name": "说明"},
    {"id": "rank", "name": "排名", "type": "numeric"},
    {"id": "streak", "name": "连续未达标（期）", "type": "numeric"},
    {"id": "reporting", "name": "报送情况"},
    {"id": "expected", "name": "序时进度", "type": "numeric", "format": _FIXED},
    {"id": "forecast", "name": "年末预测", "type": "numeric", "format": _FIXED},
]


def _num(value, unit: str = "", decimals: int | None = None):
    """A number rounded as it is shown (so the Excel export holds what the page shows)."""
    if is_missing(value):
        return None
    return round(float(value), display_decimals(unit) or 2 if decimals is None else decimals)


def indicator_rows(gaps: pd.DataFrame) -> list[dict]:
    """metrics.gaps rows of one indicator → DataTable records (jurisdiction first)."""
    out = []
    frame = gaps.sort_values(["is_parent", "sort_order"], ascending=[False, True])
    for _, r in frame.iterrows():
        status = r["status"] or "无目标"
        unit = r["unit"]
        if r.get("row_kind") == "rollup":
            reporting = reporters_text(r)
        else:
            reporting = {"未报送": "未报送", "未到期": "未到期", "数据不全": "不全"}.get(status, "已报送")
        note = "；".join(t for t in (judged_note(r), status_note(r), _tie(r)) if t)
        d = max(row_decimals(r), 2)
        out.append({
            "region_code": r["region_code"], "region_name": r["region_name"],
            "indicator_code": r["indicator_code"], "indicator_name": r["indicator_name"],
            "period": r["period"], "basis": r.get("judged_on") or r["basis"],
            "view_basis": r["basis"], "is_parent": "是" if flag(r["is_parent"]) else "否",
            "actual": _num(r["actual"], unit, d), "target": _num(r["target"], unit),
            "gap": _num(r["gap"], unit, d), "completion": _num(r["completion"], "%"),
            "status": f"{STATUS_SYMBOL.get(status, '')} {status}", "note": note,
            "review": f"{UNREVIEWED_SYMBOL}{UNREVIEWED_WORD}" if unreviewed(r) else "",
            "rank": None if is_missing(r["rank"]) else int(r["rank"]),
            "streak": None if is_missing(r["streak"]) else int(r["streak"]),
            "reporting": reporting,
            "expected": _num(r["expected"], unit) if status in RATED else None,
            "forecast": _num(r["forecast"], unit),
        })
    return out


def _tie(r) -> str:
    ties = r.get("rank_ties")
    if is_missing(ties) or int(ties) <= 1:
        return ""
    return "全部并列" if int(ties) >= int(r["rank_of"]) else f"{int(ties)} 个并列"


def series_window(frequency: str, year: int | None) -> tuple[str, str, str, str]:
    """(freq, start, end, year-end period) of the in-year trend for an indicator's frequency."""
    year = year or dt.date.today().year
    if frequency == "月度":
        return "M", f"{year}-01", f"{year}-12", f"{year}-12"
    if frequency == "季度":
        return "Q", f"{year}Q1", f"{year}Q4", f"{year}Q4"
    return "Y", str(year - 3), str(year), str(year)
