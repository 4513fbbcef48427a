"""报送: the 报送率 summary (reporting rate, timeliness: table per region and a trend per
period, from Metrics.reporting_rate), the region × period matrix of returns (按时 / 逾期 / 已更正 / 未报送 / 未到期) against the
due day of each frequency (settings `due_day.月度` …), and the 催报 list of what is outstanding,
exportable to Excel."""
from __future__ import annotations

import datetime as dt

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboards import ids
from dashboards.components import empty_state, page_frame, period_controls, table
from dashboards.pagekit import Choices, PAGES_LOCATION, register_controls, render_page, resolve, state_from_search
from dashboards.state import ViewState, period_label
from dashboards.store import open_metrics
from dashboards.theme import SUBMISSION_CLASS, SUBMISSION_SYMBOL

PAGE = ids.SUBMISSIONS
FREQUENCIES = ("月度", "季度", "年度")
CHASE_COLUMNS = {"region_name": "地区", "period_label": "期间", "due_date": "截止日期",
                 "days_overdue": "逾期天数"}
dash.register_page(__name__, path="/submissions", name="报送", title="报送 · 医保便民服务指标监测", order=3)
register_controls(PAGE, basis=False, extra={"frequency": (ids.SUBMISSIONS_FREQUENCY, "value")})


def layout(rendering=None, **params):
    return render_page(PAGE, params, rendering, build, _content)


def _content(m, state: ViewState):
    if state.frequency is None:
        state = state.with_(frequency=default_frequency(m, state.jurisdiction))
    return state, (m.submission_status(state.jurisdiction, state.year, state.frequency),
                   m.reporting_rate(state.jurisdiction, state.year, state.frequency))


def default_frequency(m, jurisdiction: str) -> str:
    """The finest frequency at which the jurisdiction has indicators (月度 before 季度 before 年度)."""
    present = set(m.indicators(jurisdiction)["frequency"])
    return next((f for f in FREQUENCIES if f in present), FREQUENCIES[0])


def outstanding(status, today: dt.date):
    """The 催报 list (DataFrame): returns due and not received, oldest first, with days overdue."""
    import pandas as pd
    out = status[status["status"] == "未报送"].copy()
    out["period_label"] = [period_label(p) for p in out["period"]]
    out["days_overdue"] = [(today - pd.Timestamp(d).date()).days for d in out["due_date"]]
    out["due_date"] = [pd.Timestamp(d).strftime("%Y-%m-%d") for d in out["due_date"]]
    return out.sort_values(["days_overdue", "region_name"], ascending=[False, True])


def build(state: ViewState, choices: Choices, content, error: str | None = None):
    status, rr = content if content is not None else (None, None)
    controls = period_controls(PAGE, state, choices.jurisdictions, choices.years, choices.periods,
                               basis=False)
    controls.append(html.Label([html.Span("报表频度", className="control-label"), dcc.RadioItems(
        id=ids.SUBMISSIONS_FREQUENCY, value=state.frequency or "月度", className="basis-switch",
        inputClassName="basis-input", labelClassName="basis-label",
        options=[{"label": f, "value": f} for f in FREQUENCIES])], className="control"))
    tools = [dcc.Download(id=ids.SUBMISSIONS_DOWNLOAD)]
    if error or status is None:
        msg = error or "数据仓库中还没有地区：请先运行 python -m pipelines init。"
        return page_frame(PAGE, state, controls, tools + [
            empty_state(msg), html.Button(id=ids.SUBMISSIONS_EXPORT, hidden=True)])
    frequency = state.frequency or "月度"
    today = (state.as_of_time or dt.datetime.now()).date()
    if status.empty:
        return page_frame(PAGE, state, controls, tools + [
            empty_state(f"本地区没有按{frequency}报送的指标，无需{frequency}报表。",
                        "请在上方选择其他报表频度。"),
            html.Button(id=ids.SUBMISSIONS_EXPORT, hidden=True)])
    chase = outstanding(status, today)
    due_days = sorted({d.day for d in status["due_date"]}) if not status.empty else []
    body = [
        html.H1(f"{state.year}年{frequency}报表报送情况", className="page-title"),
        html.P(f"截止日：期末次月 {'、'.join(str(d) for d in due_days) or '—'} 日（可在系统设置 due_day.{frequency} 中调整）；"
               f"统计日期 {today:%Y-%m-%d}。", className="note"),
        _rate_section(rr, frequency),
        html.H2("逐期报送情况", className="section-title"),
        _matrix(status),
        html.Div(className="actions", children=[
            html.H2(f"催报清单（{len(chase)} 项未报送）", className="section-title"),
            html.Button("导出催报清单 Excel", id=ids.SUBMISSIONS_EXPORT, className="button")]),
        table(chase, CHASE_COLUMNS, id=ids.SUBMISSIONS_CHASE) if not chase.empty
        else html.Div(empty_state("没有逾期未报的报表。"), id=ids.SUBMISSIONS_CHASE),
    ]
    return page_frame(PAGE, state, controls, tools + body)


RATE_COLUMNS = {"region_name": "地区", "owed": "应报", "received": "已报", "on_time": "按时报",
                "late": "逾期报", "missing": "未报", "not_due": "未到期", "completeness_text": "报送率",
                "timeliness_text": "及时率"}


def _pct(v) -> str:
    return "—" if v is None or v != v else f"{v:.1f}%"


def _rate_section(rr, frequency: str) -> html.Div:
    """The year's 报送率 and 及时率 in words, the trend per period, and the table per region."""
    from dashboards.figures import reporting_rate_figure
    t = rr.total
    cards = [("报送率", _pct(t["completeness"]), f"已报 {t['received']} / 应报 {t['owed']}"),
             ("及时率", _pct(t["timeliness"]), f"按时报 {t['on_time']} / 应报 {t['owed']}"),
             ("逾期报", str(t["late"]), f"逾期率 {_pct(t['late_rate'])}"),
             ("未报", str(t["missing"]), f"未报率 {_pct(t['missing_rate'])}"),
             ("未到期", str(t["not_due"]), f"其中提前报送 {t['early']}")]
    regions = rr.regions.copy()
    regions["completeness_text"] = [_pct(v) for v in regions["completeness"]]
    regions["timeliness_text"] = [_pct(v) for v in regions["timeliness"]]
    return html.Div(id=ids.SUBMISSIONS_RATE, className="rate-section", children=[
        html.H2(f"{rr.year}年{frequency}报表报送率", className="section-title"),
        html.P("报送率 = 已报 ÷ 应报，及时率 = 截止日前报送 ÷ 应报；应报只计截止日已过的报表，"
               "未到期的不计入；更正过的报表按首次报送时间计。", className="note"),
        html.Div(className="rate-cards", children=[
            html.Div(className="rate-card", children=[
                html.Div(name, className="rate-name"), html.Div(value, className="rate-value"),
                html.Div(sub, className="rate-sub")]) for name, value, sub in cards]),
        dcc.Graph(id=ids.SUBMISSIONS_RATE_CHART, config={"displayModeBar": False, "responsive": True},
                  figure=reporting_rate_figure(rr.periods, title=f"{rr.year}年逐期报送率与及时率")),
        html.Div(className="table-scroll", children=table(
            regions, RATE_COLUMNS, id=ids.SUBMISSIONS_RATE_TABLE, className="data-table rate-table")),
    ])


def _matrix(status) -> html.Div:
    if status.empty:
        return empty_state("该年度没有应报的报表。")
    periods = list(dict.fromkeys(status["period"]))
    regions = list(dict.fromkeys(zip(status["region_code"], status["region_name"])))
    cells = {(r, p): s for r, p, s in zip(status["region_code"], status["period"], status["status"])}
    head = html.Thead(html.Tr([html.Th("地区")] + [html.Th(_short_label(p)) for p in periods]))
    rows = []
    for code, name in regions:
        tds = [html.Th(name, scope="row")]
        for p in periods:
            s = cells.get((code, p), "未到期")
            tds.append(html.Td(f"{SUBMISSION_SYMBOL.get(s, '')} {s}",
                               className=f"status-{SUBMISSION_CLASS.get(s, 'none')}"))
        rows.append(html.Tr(tds))
    legend = html.P("✓ 按时　! 逾期　↻ 已更正　— 未报送　… 未到期", className="note")
    return html.Div([html.Table([head, html.Tbody(rows)], className="data-table matrix",
                                id=ids.SUBMISSIONS_MATRIX), legend])


def _short_label(code: str) -> str:
    label = period_label(code)
    return label[5:] if len(label) > 5 else label


@callback(Output(ids.SUBMISSIONS_DOWNLOAD, "data"), Input(ids.SUBMISSIONS_EXPORT, "n_clicks"),
          State(PAGES_LOCATION, "search"), prevent_initial_call=True)
def _export(clicks, search):
    if not clicks:
        return no_update
    state = state_from_search(search)
    with open_metrics(state.as_of_time) as m:
        state, choices = resolve(m, state)
        if choices.empty:
            return no_update
        frequency = state.frequency or default_frequency(m, state.jurisdiction)
        status = m.submission_status(state.jurisdiction, state.year, frequency)
        name = choices.jurisdictions.set_index("code").loc[state.jurisdiction, "name"]
    from dashboards.export import frame_to_xlsx
    chase = outstanding(status, (state.as_of_time or dt.datetime.now()).date())
    data = frame_to_xlsx(chase, CHASE_COLUMNS, sheet="催报清单",
                         title=f"{name} {state.year}年{frequency}报表催报清单")
    return dcc.send_bytes(data, f"{name}_{state.year}年{frequency}_催报清单.xlsx")
