"""Rows for tables: metrics DataFrames formatted for display (no computation of indicators)."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from dash.dash_table.Format import Format, Scheme

from .theme import STATUS_SYMBOL, flag, is_missing

if TYPE_CHECKING:
    import pandas as pd

_ONE = Format(precision=1, scheme=Scheme.fixed)
INDICATOR_COLUMNS = [
    {"id": "region_name", "name": "地区"},
    {"id": "actual", "name": "实际值", "type": "numeric", "format": _ONE},
    {"id": "target", "name": "目标", "type": "numeric", "format": _ONE},
    {"id": "gap", "name": "差距", "type": "numeric", "format": _ONE},
    {"id": "completion", "name": "完成率（%）", "type": "numeric", "format": _ONE},
    {"id": "status", "name": "状态"},
    {"id": "rank", "name": "排名", "type": "numeric"},
    {"id": "streak", "name": "连续未达标（期）", "type": "numeric"},
    {"id": "reporting", "name": "报送情况"},
    {"id": "expected", "name": "序时进度", "type": "numeric", "format": _ONE},
    {"id": "on_track", "name": "是否符合序时进度"},
    {"id": "forecast", "name": "年末预测", "type": "numeric", "format": _ONE},
]


def _num(value):
    return None if is_missing(value) else float(value)


def indicator_rows(gaps: pd.DataFrame) -> list[dict]:
    """metrics.gaps rows of one indicator → DataTable records (jurisdiction first)."""
    out = []
    frame = gaps.sort_values(["is_parent", "sort_order"], ascending=[False, True])
    for _, r in frame.iterrows():
        status = r["status"] or "无目标"
        if not is_missing(r.get("expected_reporters")) and r["expected_reporters"]:
            reporting = f"{int(r['reporters'] or 0)}/{int(r['expected_reporters'])} 个地区"
        else:
            reporting = "已报送" if not is_missing(r["actual"]) else "未报送"
        on = flag(r.get("on_track"))
        out.append({
            "region_code": r["region_code"], "region_name": r["region_name"],
            "indicator_code": r["indicator_code"], "indicator_name": r["indicator_name"],
            "period": r["period"], "basis": r["basis"], "is_parent": "是" if flag(r["is_parent"]) else "否",
            "actual": _num(r["actual"]), "target": _num(r["target"]), "gap": _num(r["gap"]),
            "completion": _num(r["completion"]), "status": f"{STATUS_SYMBOL.get(status, '')} {status}",
            "rank": None if is_missing(r["rank"]) else int(r["rank"]),
            "streak": None if is_missing(r["streak"]) else int(r["streak"]),
            "reporting": reporting, "expected": _num(r["expected"]),
            "on_track": {None: "—", True: "是", False: "否"}[on],
            "forecast": _num(r["forecast"]),
        })
    return out


def series_window(frequency: str, year: int | None) -> tuple[str, str, str, str]:
    """(freq, start, end, year-end period) of the in-year trend for an indicator's frequency."""
    year = year or dt.date.today().year
    if frequency == "月度":
        return "M", f"{year}-01", f"{year}-12", f"{year}-12"
    if frequency == "季度":
        return "Q", f"{year}Q1", f"{year}Q4", f"{year}Q4"
    return "Y", str(year - 3), str(year), str(year)
