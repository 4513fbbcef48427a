"""The gap heatmap: district × indicator, each cell a link showing value, gap and status.

Built as an HTML table from metrics.gaps rows: text and symbols carry the status (not only
colour), hovering shows target, rank, streak and reporters, clicking opens the district page
for the same period with the indicator's provenance.
"""
from __future__ import annotations

from urllib.parse import quote
from typing import TYPE_CHECKING

from dash import dcc, html

from pipelines.figure_text import judged_note, months_text, period_text, reporters_text, status_note

from . import ids
from .state import ViewState
from .theme import (RATED, STATUS_CLASS, STATUS_SYMBOL, STATUSES, UNREVIEWED_SYMBOL, UNREVIEWED_TITLE,
                    UNREVIEWED_WORD, fmt_gap, fmt_gap_short, fmt_number, fmt_target, fmt_value,
                    is_missing, row_decimals, unreviewed, unreviewed_mark)

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
    # The grid's own size rides on CSS variables: the meeting screen divides the viewport's
    # height by the rows, and a jurisdiction with few indicators keeps columns at a readable
    # width instead of stretching one column across the screen.
    size = {"--hm-rows": str(len(regions) + 1), "--hm-cols": str(len(indicators))}
    return html.Div(className="heatmap-wrap", children=[
        html.Div(html.Table([head, html.Tbody(body)], className="heatmap", id=ids.OVERVIEW_HEATMAP,
                            style=size), className="heatmap-scroll"),
        legend()])


def _cell(row: dict | None, cell_href) -> html.Td:
    if row is None:             # the region does not report this indicator: nothing to show
        return html.Td("", className="hm-cell hm-empty", title="该地区不报送此指标")
    status = row.get("status") or "无目标"
    unit = row["unit"]
    d = row_decimals(row)
    value = fmt_number(row["actual"], unit, d) if not is_missing(row["actual"]) else STATUS_SYMBOL[status]
    gap = fmt_gap_short(row["gap"], unit, d) if status in RATED else ""
    second = "·".join(t for t in (gap or cell_note(row), cell_tag(row)) if t)
    symbol = STATUS_SYMBOL[status]
    link = dcc.Link(className="hm-link", href=cell_href(row["region_code"], row["indicator_code"]), children=[
        html.Span([html.Span(symbol if not is_missing(row["actual"]) else "", className="hm-sym",
                             **{"aria-hidden": "true"}),
                   html.Span(value, className="hm-value"), unreviewed_mark(row)], className="hm-line"),
        html.Span(second, className="hm-gap" if gap else "hm-gap hm-note"),
        html.Span([html.Span(symbol + " ", className="hm-status-sym"), status], className="hm-status"),
    ])
    return html.Td(link, className=f"hm-cell status-{STATUS_CLASS[status]}", title=tooltip(row),
                   **{"data-region": row["region_code"], "data-indicator": row["indicator_code"],
                      "data-status": status, "data-unreviewed": "true" if unreviewed(row) else "false"})


def cell_note(row: dict) -> str:
    """A few characters under a figure that is not rated: what it lacks."""
    status = row.get("status")
    if status == "数据不全":
        if row.get("row_kind") == "rollup":
            return f"{int(row.get('reporters') or 0)}/{int(row.get('expected_reporters') or 0)}报齐"
        return f"缺{months_text(row.get('missing_months'))}" if row.get("missing_months") else "不全"
    if status == "未报送" and row.get("row_kind") == "rollup":
        return f"0/{int(row.get('expected_reporters') or 0)}"
    return ""


def cell_tag(row: dict) -> str:
    """'累计' / '全年' when the figure is not the view's own period's (judged_note says it in full)."""
    if row.get("judged_on") == "ytd" and row.get("basis") == "period" and row.get("aggregation") == "flow":
        return "累计"
    if row.get("figure_period") and row.get("figure_period") != row.get("period"):
        return "全年" if len(str(row["figure_period"])) == 4 else period_text(row["figure_period"])[5:]
    return ""


def rank_text(row: dict) -> str:
    """'第 2 / 10 名（3 个并列）'; '' when the row is not ranked."""
    if is_missing(row.get("rank")) or is_missing(row.get("rank_of")):
        return ""
    text = f"第 {int(row['rank'])} / {int(row['rank_of'])} 名"
    ties = 0 if is_missing(row.get("rank_ties")) else int(row["rank_ties"])
    if ties > 1:
        text += f"（{ties} 个并列）" if ties < int(row["rank_of"]) else "（全部并列）"
    return text


def tooltip(row: dict) -> str:
    unit = row["unit"]
    status = row.get("status") or "无目标"
    lines = [f"{row['region_name']} · {row['indicator_name']}",
             f"实际：{fmt_value(row['actual'], unit, row_decimals(row))}",
             f"目标：{'—' if status == '未到期' else fmt_target(row.get('comparator'), row.get('target'), unit)}",
             f"差距：{fmt_gap(row.get('gap'), unit, row_decimals(row))}",
             f"状态：{status}"]
    for extra in (judged_note(row), status_note(row)):
        if extra:
            lines.append(extra)
    if row.get("judge") == "reach" and not is_missing(row.get("baseline")) and status in RATED:
        lines.append(f"序时进度：{fmt_value(row.get('expected'), unit)}")
    if rank_text(row):
        lines.append(f"排名：{rank_text(row)}")
    if not is_missing(row.get("streak")) and int(row["streak"]) > 0:
        lines.append(f"连续未达标：{int(row['streak'])} 期")
    if reporters_text(row):
        lines.append(f"报送：{reporters_text(row)}")
    if unreviewed(row):
        lines.append(f"{UNREVIEWED_SYMBOL}{UNREVIEWED_WORD}：{UNREVIEWED_TITLE}")
    lines.append("点击查看地区详情与数据来源")
    return "\n".join(lines)


def legend() -> html.Div:
    return html.Div(className="legend", children=[
        html.Span(f"{STATUS_SYMBOL[s]} {s}", className=f"legend-item status-{STATUS_CLASS[s]}")
        for s in STATUSES] + [html.Span(f"{UNREVIEWED_SYMBOL}{UNREVIEWED_WORD} 含未审核通过的数据",
                                        className="legend-unreviewed", title=UNREVIEWED_TITLE),
                              html.Span("格内：实际值 / 差距（负数为差距）；灰色各项不作评价，不计入达标统计和排名",
                                        className="legend-note")])
