"""指标: ranking of all districts, trends against the target path and forecast, the table
behind it (sortable, Excel export, click a row for its provenance). Meeting mode can advance
through the indicators on a timer (advance=seconds in the URL)."""
from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dash_table, dcc, html, no_update

from dashboards import ids
from dashboards.components import empty_state, page_frame, period_controls
from dashboards.figures import empty_figure, ranking_figure, trend_figure
from dashboards.pagekit import Choices, PAGES_LOCATION, register_controls, render_page, state_from_search
from dashboards.state import BASES, ViewState, period_label
from dashboards.tables import INDICATOR_COLUMNS, indicator_rows, series_window

PAGE = ids.INDICATOR
dash.register_page(__name__, path="/indicator", name="指标", title="指标 · 医保便民服务指标监测", order=1)
register_controls(PAGE, extra={"indicator": (ids.INDICATOR_PICK, "value"),
                               "region": (ids.INDICATOR_REGIONS, "value")})


def layout(rendering=None, **params):
    return render_page(PAGE, params, rendering, build, lambda m, state: (state, _content(m, state)),
                       memoise=True)


def _content(m, state: ViewState) -> dict:
    inds = m.indicators(state.jurisdiction)
    if inds.empty:
        return {"indicators": inds}
    codes = inds["code"].tolist()
    preferred = inds[inds["has_data"] & inds["has_target"]]["code"].tolist() or codes
    code = state.indicator if state.indicator in codes else preferred[0]
    info = inds[inds["code"] == code].iloc[0]
    gaps = m.gaps(state.period, region=state.jurisdiction, basis=state.basis, indicators=[code])
    children = gaps[~gaps["is_parent"]]
    chosen = [r for r in state.regions if r in set(children["region_code"])]
    names = dict(zip(gaps["region_code"], gaps["region_name"]))
    freq, start, end, year_end = series_window(info["frequency"], state.year)
    series = {names.get(r, r): m.series(r, code, start, end, freq=freq, basis=state.basis)
              for r in [state.jurisdiction] + chosen}
    return {"indicators": inds, "code": code, "info": info, "gaps": gaps, "chosen": chosen,
            "series": series, "year_end": year_end}


def build(state: ViewState, choices: Choices, content: dict | None, error: str | None = None):
    inds = content["indicators"] if content else None
    code = content.get("code") if content else None
    controls = period_controls(PAGE, state, choices.jurisdictions, choices.years, choices.periods)
    controls.insert(0, html.Label([html.Span("指标", className="control-label"), dcc.Dropdown(
        id=ids.INDICATOR_PICK, clearable=False,
        options=[] if inds is None else [{"label": n, "value": c} for c, n in zip(inds["code"], inds["name"])],
        value=code, className="pick pick-indicator")], className="control"))
    children = content["gaps"][~content["gaps"]["is_parent"]] if content and "gaps" in content else None
    controls.append(html.Label([html.Span("对比地区", className="control-label"), dcc.Dropdown(
        id=ids.INDICATOR_REGIONS, multi=True, placeholder="选择要与全辖区对比的地区",
        options=[] if children is None else [{"label": n, "value": c} for c, n in
                                             zip(children["region_code"], children["region_name"])],
        value=content["chosen"] if content and "chosen" in content else [], className="pick pick-multi")],
        className="control"))
    advance = state.advance_seconds
    widgets = [
        dcc.Interval(id=ids.INDICATOR_ADVANCE, interval=(advance or 3600) * 1000, disabled=not advance),
        dcc.Download(id=ids.INDICATOR_DOWNLOAD),
    ]
    if error:
        body = [empty_state(error)]
    elif choices.empty or content is None:
        body = [empty_state("数据仓库中还没有地区和指标：请先运行 python -m pipelines init。")]
    elif code is None:
        body = [empty_state("该地区没有需要监测的指标。")]
    else:
        return page_frame(PAGE, state, controls, widgets + _body(state, content))
    hidden = html.Div([html.Button(id=ids.INDICATOR_EXPORT), _table([], False)], hidden=True)
    return page_frame(PAGE, state, controls, widgets + body + [hidden])


def _body(state: ViewState, content: dict) -> list:
    info, gaps = content["info"], content["gaps"]
    unit, name = info["unit"], info["name"]
    parent = gaps[gaps["is_parent"]]
    when = f"{period_label(state.period)}·{BASES[state.basis]}"
    own = parent.iloc[0] if not parent.empty else None
    forecast = (content["year_end"], own["forecast"]) if own is not None else None
    meeting = state.meeting
    ranking = ranking_figure(gaps[~gaps["is_parent"]], unit=unit, title=f"各地区排名（{when}）",
                             meeting=meeting)
    trend = trend_figure(content["series"], unit=unit, forecast=forecast, meeting=meeting,
                         title=f"{state.year}年走势：实际值、目标与序时进度")
    if gaps["actual"].isna().all():
        ranking = empty_figure(f"{when}尚无地区报送该指标", meeting=meeting)
    config = {"displaylogo": False, "displayModeBar": False}
    return [
        html.H1(f"{name}（{unit}）", className="page-title"),
        html.P(f"来源：{info.get('source') or '—'}" if "source" in info else "", className="note"),
        html.Div(className="two-col", children=[
            html.Div(dcc.Graph(id=ids.INDICATOR_RANKING, figure=ranking, config=config), className="panel"),
            html.Div(dcc.Graph(id=ids.INDICATOR_TREND, figure=trend, config=config), className="panel"),
        ]),
        html.Div(className="actions", children=[
            html.H2("明细（点击任一行查看数据来源；点击表头排序）", className="section-title"),
            html.Button("导出 Excel", id=ids.INDICATOR_EXPORT, className="button")]),
        _table(indicator_rows(gaps), meeting),
    ]


def _table(rows: list[dict], meeting: bool) -> dash_table.DataTable:
    bg, fg, head = ("#1d2127", "#f5f5f5", "#2a2f37") if meeting else ("#ffffff", "#1a1a1a", "#eef1f5")
    return dash_table.DataTable(
        id=ids.INDICATOR_TABLE, data=rows, columns=INDICATOR_COLUMNS, sort_action="native",
        page_action="none", cell_selectable=True, style_as_list_view=False,
        style_table={"overflowX": "auto"},
        style_cell={"fontFamily": '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif',
                    "fontSize": 22 if meeting else 17, "padding": "6px 10px", "backgroundColor": bg,
                    "color": fg, "textAlign": "left", "cursor": "pointer"},
        style_header={"fontWeight": 700, "backgroundColor": head},
        style_data_conditional=[
            {"if": {"filter_query": '{is_parent} eq "是"'}, "fontWeight": 700},
            {"if": {"filter_query": '{status} contains "未达标"', "column_id": "status"},
             "color": "#D55E00", "fontWeight": 700},
            {"if": {"filter_query": '{status} contains "✓"', "column_id": "status"}, "color": "#0072B2"},
        ])


@callback(Output(ids.INDICATOR_PICK, "value"), Input(ids.INDICATOR_ADVANCE, "n_intervals"),
          State(ids.INDICATOR_PICK, "options"), State(ids.INDICATOR_PICK, "value"),
          prevent_initial_call=True)
def _advance(_n, options, value):
    """Meeting mode: move to the next indicator (the controls callback then navigates)."""
    codes = [o["value"] for o in options or []]
    if not codes:
        return no_update
    return codes[(codes.index(value) + 1) % len(codes)] if value in codes else codes[0]


@callback(Output(ids.PROV_STORE, "data", allow_duplicate=True),
          Input(ids.INDICATOR_TABLE, "active_cell"), State(ids.INDICATOR_TABLE, "derived_virtual_data"),
          prevent_initial_call=True)
def _row_provenance(active, rows):
    if not active or not rows or active.get("row", -1) >= len(rows):
        return no_update
    row = rows[active["row"]]
    return {"region": row["region_code"], "indicator": row["indicator_code"],
            "period": row["period"], "basis": row["basis"]}


@callback(Output(ids.INDICATOR_DOWNLOAD, "data"), Input(ids.INDICATOR_EXPORT, "n_clicks"),
          State(ids.INDICATOR_TABLE, "derived_virtual_data"), State(PAGES_LOCATION, "search"),
          prevent_initial_call=True)
def _export(clicks, rows, search):
    if not clicks or not rows:
        return no_update
    import pandas as pd

    from dashboards.export import frame_to_xlsx
    state = state_from_search(search)
    frame = pd.DataFrame(rows)
    columns = {c["id"]: c["name"] for c in INDICATOR_COLUMNS}
    name = frame["indicator_name"].iloc[0] if "indicator_name" in frame else "指标"
    title = f"{name} {period_label(frame['period'].iloc[0])}（{BASES[frame['view_basis'].iloc[0]]}）"
    if state.as_of:
        title += f" 快照 {state.as_of}"
    data = frame_to_xlsx(frame, columns, sheet="明细", title=title)
    return dcc.send_bytes(data, f"{name}_{frame['period'].iloc[0]}.xlsx")
