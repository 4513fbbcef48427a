"""Page frame, header controls, KPI cards and plain tables (built from metrics DataFrames)."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from dash import dcc, html

from . import ids
from .state import BASES, PAGE_PATHS, PAGE_TITLES, ViewState, period_label
from pipelines.figure_text import judged_note, reporters_text, status_note

from .theme import (RATED, STATUS_CLASS, STATUS_SYMBOL, flag, fmt_gap, fmt_number, fmt_target,
                    fmt_time, fmt_value, is_missing, row_decimals, status_text, unreviewed_mark)

if TYPE_CHECKING:
    import pandas as pd

APP_TITLE = "医保便民服务指标监测"
QUARTER_NAMES = "一二三四"


def page_frame(page: str, state: ViewState, controls: list, body: list, *,
               data_as_of=None) -> html.Div:
    """The whole page: navigation, controls, snapshot banner, body. Meeting mode drops chrome."""
    classes = f"page page-{page}" + (f" mode-meeting slide-{state.slide_key}" if state.meeting else "")
    banner = snapshot_banner(state, page, data_as_of)
    head = [html.Div(className="controls", children=controls), *([banner] if banner else [])]
    if state.meeting:             # one thin bar on the projector: pickers, snapshot, exit
        head = [html.Div(head, className="meeting-bar")]
    return html.Div(className=classes, children=[
        dcc.Location(id=ids.control(page, ids.PAGE_URL), refresh="callback-nav"),
        *head,
        *url_notice(page, state),
        html.Main(className="page-body", children=body),
    ])


def url_notice(page: str, state: ViewState) -> list:
    """What the URL asked for that could not be shown, and the address of what is shown."""
    if not state.problems:
        return []
    fixed = state.href(page)
    return [html.Div(className="url-notice", role="alert", id=ids.URL_NOTICE, children=[
        html.P("网址中的参数有误，已按下列方式改正：", className="url-notice-title"),
        html.Ul([html.Li(p) for p in state.problems]),
        html.P(["当前显示的页面地址：", dcc.Link(fixed, href=fixed, className="url-fixed")])])]


def nav_links(page: str | None, state: ViewState, may_open=None) -> list:
    """The app's navigation for the current view: the pages the user may open (`may_open(path)`,
    security.request_may_open; None: only what every reader may open), keeping jurisdiction and
    period (the indicator only on the indicator page: the district page opens on its gaps)."""
    from .security import LEVELS, path_level
    if may_open is None:
        def may_open(path):
            return LEVELS[path_level(path)] <= LEVELS["read"]
    keep = state.with_(region=None, advance=None, frequency=None, slide=None)
    links = [dcc.Link(PAGE_TITLES[p], className="nav-link" + (" active" if p == page else ""),
                      href=keep.href(p, indicator=state.indicator if p == "indicator" else None)
                      if p not in ("upload", "admin") else PAGE_PATHS[p])
             for p in PAGE_PATHS if may_open(PAGE_PATHS[p])]
    return [html.Span(APP_TITLE, className="brand"), html.Div(links, className="nav-links"),
            dcc.Link("会议模式", href=state.href(page or "overview", mode="meeting"),
                     className="nav-meeting")]


def snapshot_banner(state: ViewState, page: str, data_as_of) -> html.Div | None:
    parts = []
    if state.as_of:
        parts.append(html.Span(f"会议快照：数据截至 {fmt_time(state.as_of_time)}", className="snapshot"))
    if state.meeting:
        parts.append(dcc.Link("退出会议模式", href=state.href(page, mode=None, advance=None),
                              className="exit-meeting"))
        if not state.as_of and data_as_of is not None:
            parts.append(dcc.Link("冻结为会议快照", className="freeze",
                                  href=state.href(page, as_of=data_as_of.isoformat(timespec="seconds"))))
    return html.Div(parts, className="banner") if parts else None


def period_controls(page: str, state: ViewState, jurisdictions: pd.DataFrame, years: list[int],
                    periods: list[str], *, basis: bool = True) -> list:
    """Jurisdiction, year, period pickers and the 当期/累计 switch, set from the state."""
    out = [
        _labelled("地区", dcc.Dropdown(
            id=ids.control(page, "jurisdiction"), clearable=False, searchable=False,
            options=[] if jurisdictions is None else
            [{"label": n, "value": c} for c, n in zip(jurisdictions["code"], jurisdictions["name"])],
            value=state.jurisdiction, className="pick pick-wide")),
        _labelled("年度", dcc.Dropdown(
            id=ids.control(page, "year"), clearable=False, searchable=False,
            options=[{"label": f"{y}年", "value": y} for y in years], value=state.year,
            className="pick")),
        _labelled("期间", dcc.Dropdown(
            id=ids.control(page, "period"), clearable=False, searchable=False,
            options=[{"label": period_label(p), "value": p} for p in periods], value=state.period,
            className="pick pick-wide")),
    ]
    if basis:
        out.append(_labelled("口径", dcc.RadioItems(
            id=ids.control(page, "basis"), value=state.basis, className="basis-switch",
            inputClassName="basis-input", labelClassName="basis-label",
            options=[{"label": v, "value": k} for k, v in BASES.items()])))
    return out


def period_choices(year: int | None, with_data: list[str]) -> list[str]:
    """Period codes offered for a year: the year, its quarters, its months (those with data)."""
    if year is None:
        return []
    offered = [str(year)] + [f"{year}Q{q}" for q in range(1, 5)] + [f"{year}-{m:02d}" for m in range(1, 13)]
    have = set(with_data)
    chosen = [p for p in offered if p in have]
    return chosen or [f"{year}Q{q}" for q in range(1, 5)]


def _labelled(label: str, control) -> html.Label:
    return html.Label([html.Span(label, className="control-label"), control], className="control")


def empty_state(message: str, hint: str | None = None) -> html.Div:
    return html.Div(className="empty-state", children=[
        html.P(message, className="empty-title"), *([html.P(hint)] if hint else [])])


def prov_key(region: str, indicator: str, period: str, basis: str) -> str:
    return json.dumps([region, indicator, period, basis], ensure_ascii=False)


def prov_button(label, region: str, indicator: str, period: str, basis: str,
                className: str = "prov-btn") -> html.Button:
    """A number the user can click to see where it comes from (the provenance panel)."""
    return html.Button(label, className=className, title="点击查看数据来源",
                       id={"type": ids.PROV_BUTTON, "key": prov_key(region, indicator, period, basis)})


def headline(parent: pd.DataFrame, children: pd.DataFrame, data_as_of, state: ViewState) -> html.Div:
    """达标 among the rated indicators, districts that reported, data as of.

    Only rated figures count (DESIGN "Gaps and status"): an indicator not due, incomplete, with
    no business or no target is left out of x/y and said so.
    """
    rated = parent[parent["status"].isin(RATED)]
    met = int((rated["status"] == "达标").sum())
    owing = children[children["status"] != "未到期"]
    regions = owing["region_code"].unique()
    reported = owing.loc[~owing["status"].isin(["未报送"]), "region_code"].nunique()
    why = parent.loc[~parent["status"].isin(RATED), "status"].value_counts()
    aside = "、".join(f"{s}{n}项" for s, n in why.items())
    partial = int((owing["status"] == "数据不全").sum())
    items = [
        ("指标达标", f"{met} / {len(rated)}", f"未评价：{aside}" if aside else "",
         "已评价的指标中达标的个数；未到期、未报送、数据不全、无业务或无目标的指标不计入"),
        ("报送地区", f"{reported} / {len(regions)}", f"{partial} 项数据不全" if partial else "",
         "本期应报指标中至少报送一项的下级地区"),
        ("数据截至", fmt_time(data_as_of), "", "最近一次载入数据的时间"),
        ("统计期", f"{period_label(state.period)}·{BASES[state.basis]}", "", ""),
    ]
    return html.Div(id=ids.OVERVIEW_HEADLINE, className="headline", children=[
        html.Div(className="headline-item", title=tip, children=[
            html.Div(label, className="headline-label"), html.Div(value, className="headline-value"),
            *([html.Div(sub, className="headline-sub")] if sub else [])])
        for label, value, sub, tip in items])


def kpi_card(row: pd.Series) -> html.Div:
    """One indicator of the jurisdiction itself: value vs target, status, gap, 序时进度.

    A figure that is not rated says why instead of a gap (not due, incomplete, no business).
    """
    unit, status = row["unit"], row["status"] or "无目标"
    rated = status in RATED
    lines = [html.Div([html.Span("目标 "), "—" if status == "未到期" else
                       fmt_target(row["comparator"], row["target"], unit)], className="kpi-target")]
    judged = judged_note(row)
    if judged:
        lines.append(html.Div(judged, className="kpi-note"))
    if rated:
        lines.append(html.Div(["差距 ", html.B(fmt_gap(row["gap"], unit, row_decimals(row)))], className="kpi-gap"))
    else:
        lines.append(html.Div(status_note(row), className="kpi-note warn"))
    if rated and row.get("judge") == "reach" and not is_missing(row.get("baseline")):
        path = "符合序时进度" if status == "达标" else "落后序时进度"
        lines.append(html.Div(f"序时进度 {fmt_value(row['expected'], unit)}（{path}）",
                              className="kpi-path"))
    if rated and not is_missing(row.get("needed_per_month")) and not is_missing(row.get("months_left")) \
            and row["months_left"] > 0 and row["needed_per_month"] > 0:
        verb = "压缩" if row.get("direction") == "lower" else "提升"
        lines.append(html.Div(f"余 {int(row['months_left'])} 个月，每月需{verb} "
                              f"{fmt_number(row['needed_per_month'], unit)}{'个百分点' if unit == '%' else unit}",
                              className="kpi-need"))
    if not is_missing(row.get("forecast")):
        lines.append(html.Div(f"年末预测 {fmt_value(row['forecast'], unit)}", className="kpi-forecast"))
    if reporters_text(row) and status != "数据不全":
        lines.append(html.Div(reporters_text(row), className="kpi-reporters"))
    return html.Div(className=f"kpi-card status-{STATUS_CLASS.get(status, 'none')}", children=[
        html.Div(row["indicator_name"], className="kpi-name"),
        html.Div([prov_button(fmt_value(row["actual"], unit, row_decimals(row)) if not is_missing(row["actual"])
                              else STATUS_SYMBOL.get(status, "—"),
                              row["region_code"], row["indicator_code"],
                              row["period"], row.get("judged_on") or row["basis"],
                              className="prov-btn kpi-value"),
                  unreviewed_mark(row),
                  html.Span(status_text(status), className=f"badge status-{STATUS_CLASS.get(status, 'none')}")],
                 className="kpi-main"),
        *lines])


def table(frame: pd.DataFrame, columns: dict[str, str], *, className: str = "data-table",
          id: str | None = None, row_class=None) -> html.Table:
    """A plain HTML table of `frame` with Chinese headers (columns: field → header)."""
    head = html.Thead(html.Tr([html.Th(h) for h in columns.values()]))
    body = []
    for _, row in frame.iterrows():
        cls = row_class(row) if row_class else None
        body.append(html.Tr([html.Td(_cell(row.get(c))) for c in columns], className=cls))
    kwargs = {"id": id} if id else {}
    return html.Table([head, html.Tbody(body)], className=className, **kwargs)


def _cell(value):
    if isinstance(value, (html.Button, html.A, html.Span, dcc.Link)):
        return value
    if is_missing(value):
        return "—"
    if hasattr(value, "strftime"):
        return fmt_time(value)
    return str(value)


def provenance_table(prov: pd.DataFrame, figure=None, archive_href=None) -> html.Div:
    """Every value behind a figure: file, sheet, cells, uploader, load time, revisions.

    figure: the figure's metrics.gaps row — its numerator and denominator (what the values in
    force add up to) are the Σ 合计 row. archive_href(submission_id) → the download address of
    the original file, or None where the user may not have it.
    """
    if prov.empty:
        return empty_state("该数字没有来源记录：本期未报送或无数据。")
    frame = prov.copy()                  # metrics orders it: region, month, load time
    if archive_href is not None:
        links = []
        for name, sid in zip(frame["file_name"], frame["submission_id"]):
            href = None if is_missing(sid) else archive_href(int(sid))
            links.append(html.A(name, href=href, className="archive-link", title="下载原始文件",
                                **{"data-submission": str(int(sid))}) if href else name)
        frame["file_name"] = links
    frame["cells"] = [f"{n}" + (f" / {d}" if isinstance(d, str) and d else "")
                      for n, d in zip(frame["numerator_cell"], frame["denominator_cell"])]
    frame["state"] = ["现行" if flag(cur) else f"已被更正（{fmt_time(s)}）"
                      for cur, s in zip(frame["is_current"], frame["superseded_at"])]
    frame["num"] = [fmt_number(v, "") for v in frame["numerator"]]
    frame["den"] = [fmt_number(v, "") for v in frame["denominator"]]
    shown = frame.head(300)
    note = [html.P(f"共 {len(frame)} 条，仅显示前 300 条。")] if len(frame) > 300 else []
    columns = {"region_name": "地区", "period": "期间", "num": "分子", "den": "分母",
               "file_name": "文件", "sheet": "工作表", "cells": "单元格（分子/分母）",
               "row_number": "行", "uploaded_by": "上传人", "uploaded_at": "上传时间",
               "loaded_at": "载入时间", "state": "状态"}
    grid = table(shown, columns, className="data-table prov-table",
                 row_class=lambda r: "" if flag(r["is_current"]) else "superseded")
    if figure is not None and not is_missing(figure.get("numerator")):
        unit = figure["unit"]
        grid.children.append(html.Tfoot(html.Tr(className="prov-total", children=[
            html.Th("Σ 合计", scope="row"), html.Td(period_label(figure["figure_period"] if isinstance(figure.get("figure_period"), str)
                                else figure["period"])),
            html.Td(fmt_number(figure["numerator"], ""), className="prov-total-num"),
            html.Td(fmt_number(figure["denominator"], ""), className="prov-total-den"),
            html.Td(colSpan=len(columns) - 4, children=(
                f"计入本数的现行值之和 → 实际值 {fmt_value(figure['actual'], unit, row_decimals(figure))}"
                "（已被更正的历史值不计入）"))])))
    return html.Div([grid, *note])
