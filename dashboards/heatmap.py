"""The gap heatmap: district × indicator, each cell a link showing value, gap and status.

Built as an HTML table from metrics.gaps rows: text and symbols carry the status (not only
colour), hovering shows target, rank, streak and reporters, clicking opens the district page
for the same period with the indicator's provenance.
"""
from __future__ import annotations

from urllib.parse import quote
from typing import TYPE_CHECKING

from dash import dcc, html

from . import ids
from .state import ViewState
from .theme import (STATUS_CLASS, STATUS_SYMBOL, STATUSES, fmt_gap, fmt_gap_short, fmt_number,
                    fmt_target, fmt_value, is_missing)

if TYPE_CHECKING:
    import pandas as pd


def heatmap(gaps: pd.DataFrame, state: ViewState) -> html.Div:
    indicators = (gaps[["indicator_code", "indicator_name", "unit"]]
                  .drop_duplicates("indicator_code").to_dict("records"))
    regions = (gaps.sort_values(["is_parent", "sort_order"], ascending=[False, True])
               [["region_code", "region_name", "is_parent"]].drop_duplicates("region_code")
               .to_dict("records"))
    cells = {(r["region_code"], r["indicator_code"]): r for r in gaps.to_dict("records")}
    base = state.href("district", region=None, indicator=None)
    sep = "&" if "?" in base else "?"

    def cell_href(region: str, indicator: str) -> str:     # district page, same view, this cell
        return f"{base}{sep}indicator={quote(indicator)}&region={quote(region)}"

    head = html.Thead(html.Tr([html.Th("地区", className="hm-corner")] + [
        html.Th(dcc.Link([html.Span(ind["indicator_name"], className="hm-ind-name"),
                          html.Span(f"（{ind['unit']}）", className="hm-ind-unit")],
                         href=state.href("indicator", indicator=ind["indicator_code"], region=None)),
                className="hm-col", title=ind["indicator_name"])
        for ind in indicators]))
    body = []
    for reg in regions:
        tds = [html.Th(dcc.Link(reg["region_name"], title=reg["region_name"],
                                href=state.href("district", region=reg["region_code"], indicator=None)),
                       className="hm-row" + (" hm-parent" if reg["is_parent"] else ""), scope="row")]
        for ind in indicators:
            tds.append(_cell(cells.get((reg["region_code"], ind["indicator_code"])), cell_href))
        body.append(html.Tr(tds, className="hm-parent-row" if reg["is_parent"] else None))
    return html.Div(className="heatmap-wrap", children=[
        html.Table([head, html.Tbody(body)], className="heatmap", id=ids.OVERVIEW_HEATMAP),
        legend()])


def _cell(row: dict | None, cell_href) -> html.Td:
    if row is None:
        return html.Td("", className="hm-cell status-none")
    status = row.get("status") or "无目标"
    unit = row["unit"]
    value = fmt_number(row["actual"], unit) if not is_missing(row["actual"]) else STATUS_SYMBOL["未报送"]
    gap = fmt_gap_short(row["gap"], unit)
    link = dcc.Link(className="hm-link", href=cell_href(row["region_code"], row["indicator_code"]), children=[
        html.Span(value, className="hm-value"),
        html.Span(gap, className="hm-gap"),
        html.Span(f"{STATUS_SYMBOL[status]} {status}", className="hm-status"),
    ])
    return html.Td(link, className=f"hm-cell status-{STATUS_CLASS[status]}", title=tooltip(row),
                   **{"data-region": row["region_code"], "data-indicator": row["indicator_code"],
                      "data-status": status})


def tooltip(row: dict) -> str:
    unit = row["unit"]
    lines = [f"{row['region_name']} · {row['indicator_name']}",
             f"实际：{fmt_value(row['actual'], unit)}",
             f"目标：{fmt_target(row.get('comparator'), row.get('target'), unit)}",
             f"差距：{fmt_gap(row.get('gap'), unit)}",
             f"状态：{row.get('status') or '无目标'}"]
    if not is_missing(row.get("rank")) and not is_missing(row.get("rank_of")):
        lines.append(f"排名：第 {int(row['rank'])} / {int(row['rank_of'])}")
    if not is_missing(row.get("streak")):
        lines.append(f"连续未达标：{int(row['streak'])} 期")
    if not is_missing(row.get("expected_reporters")) and row["expected_reporters"]:
        lines.append(f"报送：{int(row['reporters'] or 0)} / {int(row['expected_reporters'])} 个地区")
    else:
        lines.append("报送：" + ("未报送" if is_missing(row["actual"]) else "已报送"))
    if row.get("stock_month_missing") is True:
        lines.append("注意：本期最后一个月未报送")
    lines.append("点击查看地区详情与数据来源")
    return "\n".join(lines)


def legend() -> html.Div:
    return html.Div(className="legend", children=[
        html.Span(f"{STATUS_SYMBOL[s]} {s}", className=f"legend-item status-{STATUS_CLASS[s]}")
        for s in STATUSES] + [html.Span("格内：实际值 / 差距（负数为差距）", className="legend-note")])
