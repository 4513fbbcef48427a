"""The provenance panel: from any number, one click shows the returns, files, sheets and cells,
uploader, load time and revisions behind it (metrics.provenance).

The panel lives in the app shell. Numbers open it through pattern-matching buttons
({"type": PROV_BUTTON, "key": [region, indicator, period, basis]}); the indicator page's table
opens it from a clicked row. Both write a request into PROV_STORE; one callback renders it.
"""
from __future__ import annotations

import json

from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from . import ids
from .components import empty_state, provenance_table
from .pagekit import PAGES_LOCATION, state_from_search
from .state import BASES, period_label
from .store import open_metrics
from .theme import fmt_gap, fmt_target, fmt_value, row_decimals, status_text
from pipelines.figure_text import judged_note, reporters_text, status_note

HIDDEN, SHOWN = "modal hidden", "modal"


def shell() -> list:
    """The components of the panel, part of the app layout."""
    return [
        dcc.Store(id=ids.PROV_STORE),
        html.Div(id=ids.PROV_MODAL, className=HIDDEN, role="dialog", **{"aria-modal": "true"},
                 children=html.Div(className="modal-box", children=[
                     html.Div(className="modal-head", children=[
                         html.H2("数据来源", className="modal-title"),
                         html.Button("关闭 ✕", id=ids.PROV_CLOSE, className="modal-close")]),
                     html.Div(id=ids.PROV_BODY, className="modal-body")])),
    ]


def register(app) -> None:
    @app.callback(Output(ids.PROV_STORE, "data"),
                  Input({"type": ids.PROV_BUTTON, "key": ALL}, "n_clicks"),
                  prevent_initial_call=True)
    def _from_button(clicks):
        trigger = ctx.triggered_id
        if not trigger or not any(c for c in clicks or []):
            return no_update
        if not ctx.triggered or not ctx.triggered[0].get("value"):
            return no_update
        region, indicator, period, basis = json.loads(trigger["key"])
        return {"region": region, "indicator": indicator, "period": period, "basis": basis}

    @app.callback(Output(ids.PROV_MODAL, "className"), Output(ids.PROV_BODY, "children"),
                  Input(ids.PROV_STORE, "data"), Input(ids.PROV_CLOSE, "n_clicks"),
                  State(PAGES_LOCATION, "search"), prevent_initial_call=True)
    def _show(request, _close, search):
        if ctx.triggered_id == ids.PROV_CLOSE or not request:
            return HIDDEN, no_update
        state = state_from_search(search)
        with open_metrics(state.as_of_time) as m:
            return SHOWN, provenance_view(m, request, archive_links())


def archive_links():
    """archive_href for the current request's user: the originals it may download (an admin all,
    a reporter those whose every region is in its scope, a viewer none)."""
    import flask

    from pipelines.accounts import users as accounts
    from pipelines.returns.submission_info import submission_regions
    from .downloads import ARCHIVE_ROUTE, may_download_archive
    from .security import request_may_open
    user = flask.g.get("ybjc_user")
    if user is None or not request_may_open(ARCHIVE_ROUTE):
        return None
    store = flask.current_app.extensions["ybjc_store"]
    allowed = store.read(lambda con: accounts.allowed_regions(con, user))
    seen: dict[int, bool] = {}

    def href(submission_id: int) -> str | None:
        if submission_id not in seen:
            regions = store.read(lambda con: submission_regions(con, submission_id)) or []
            seen[submission_id] = may_download_archive(allowed, regions)
        return f"{ARCHIVE_ROUTE}{submission_id}" if seen[submission_id] else None
    return href


def provenance_view(m, request: dict, archive_href=None) -> html.Div:
    """Summary of the figure and every value behind it."""
    region, indicator = request["region"], request["indicator"]
    period, basis = request["period"], request.get("basis") or "period"
    try:
        gaps = m.gaps(period, region=region, basis=basis, indicators=[indicator])
        prov = m.provenance(region, indicator, period, basis=basis)
    except ValueError as exc:
        return empty_state(str(exc))
    own = gaps[gaps["is_parent"]]
    if own.empty:
        return empty_state("该指标在此地区没有数据。")
    row = own.iloc[0]
    unit = row["unit"]
    facts = [("地区", row["region_name"]), ("指标", row["indicator_name"]),
             ("期间", f"{period_label(period)}·{BASES.get(basis, basis)}"),
             ("实际值", fmt_value(row["actual"], unit, row_decimals(row))),
             ("目标", fmt_target(row["comparator"], row["target"], unit)),
             ("差距", fmt_gap(row["gap"], unit, row_decimals(row))), ("状态", status_text(row["status"]))]
    for label, text in (("口径", judged_note(row)), ("说明", status_note(row))):
        if text:
            facts.append((label, text))
    if row.get("row_kind") == "rollup":
        facts.append(("汇总", f"{reporters_text(row)}；由数据齐全地区的分子、分母加总后计算"))
    if isinstance(row.get("target_source"), str) and row["target_source"]:
        facts.append(("目标出处", row["target_source"]))
    return html.Div([
        html.Dl([item for label, value in facts for item in (html.Dt(label), html.Dd(value))],
                className="facts"),
        html.H3(f"来源记录（{len(prov)} 条，含已更正的历史值）", className="section-title"),
        provenance_table(prov, row, archive_href),
        answers_block(m, prov),
    ], className="provenance")


def answers_block(m, prov) -> html.Div | None:
    """The 说明 answering warnings about the values behind the figure (workflow/warning_answers.py)."""
    from pipelines.workflow.warning_answers import for_values
    if prov is None or prov.empty:
        return None
    import pandas as pd
    prov = prov[pd.notna(prov["submission_id"])]
    keys = {(int(r.submission_id), r.region_code, r.indicator_code, r.period) for r in prov.itertuples()}
    found = for_values(m.con, sorted(keys))
    items = []
    for r in prov.itertuples():
        for a in found.pop((int(r.submission_id), r.region_code, r.indicator_code, r.period), []):
            items.append(html.Li([html.Strong(f"{r.region_name} {period_label(r.period)}"),
                                  f"（{a['kind_label']}，{a['sheet'] or ''}!{a['cell'] or ''}）：{a['warning']}",
                                  html.Br(), f"说明（{a['source_label']}，{a['answered_by']}）：{a['answer']}"]))
    if not items:
        return None
    return html.Div([html.H3(f"警告及说明（{len(items)} 条）", className="section-title"),
                     html.Ul(items, className="answer-list")], id="prov-answers")
