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
from dashboards.theme import SUBMISSION_CLASS, SUBMISSION_SYMBOL, is_missing

PAGE = ids.SUBMISSIONS
FREQUENCIES = ("月度", "季度", "年度")
CHASE_COLUMNS = {"region_name": "地区", "period_label": "期间", "due_date": "截止日期",
                 "days_overdue": "逾期天数", "contact": "联系人", "phone": "电话", "email": "邮箱"}
dash.register_page(__name__, path="/submissions", name="报送", title="报送 · 医保便民服务指标监测", order=3)
register_controls(PAGE, basis=False, extra={"frequency": (ids.SUBMISSIONS_FREQUENCY, "value")})


def layout(rendering=None, **params):
    return render_page(PAGE, params, rendering, build, _content)


def _content(m, state: ViewState):
    if state.frequency is None:
        state = state.with_(frequency=default_frequency(m, state.jurisdiction))
    return state, (m.submission_status(state.jurisdiction, state.year, state.frequency),
                   m.reporting_rate(state.jurisdiction, state.year, state.frequency),
                   m.chase_list(state.jurisdiction, state.year, state.frequency),
                   m.review_states(state.jurisdiction, state.year))


def default_frequency(m, jurisdiction: str) -> str:
    """The finest frequency at which the jurisdiction has indicators (月度 before 季度 before 年度)."""
    present = set(m.indicators(jurisdiction)["frequency"])
    return next((f for f in FREQUENCIES if f in present), FREQUENCIES[0])


def build(state: ViewState, choices: Choices, content, error: str | None = None):
    status, rr, chase, reviews = content if content is not None else (None, None, None, None)
    controls = period_controls(PAGE, state, choices.jurisdictions, choices.years, choices.periods,
                               basis=False)
    controls.append(html.Label([html.Span("报表频度", className="control-label"), dcc.RadioItems(
        id=ids.SUBMISSIONS_FREQUENCY, value=state.frequency or "月度", className="basis-switch",
        inputClassName="basis-input", labelClassName="basis-label",
        options=[{"label": f, "value": f} for f in FREQUENCIES])], className="control"))
    tools = [dcc.Download(id=ids.SUBMISSIONS_DOWNLOAD), dcc.Download(id=ids.SUBMISSIONS_NOTICE_DOWNLOAD)]
    hidden_notice = html.Button(id=ids.SUBMISSIONS_NOTICE, hidden=True)
    if error or status is None:
        msg = error or "数据仓库中还没有地区：请先运行 python -m pipelines init。"
        return page_frame(PAGE, state, controls, tools + [
            empty_state(msg), html.Button(id=ids.SUBMISSIONS_EXPORT, hidden=True), hidden_notice])
    frequency = state.frequency or "月度"
    today = (state.as_of_time or dt.datetime.now()).date()
    if status.empty:
        return page_frame(PAGE, state, controls, tools + [
            empty_state(f"本地区没有按{frequency}报送的指标，无需{frequency}报表。",
                        "请在上方选择其他报表频度。"),
            html.Button(id=ids.SUBMISSIONS_EXPORT, hidden=True), hidden_notice])
    chase = _chase_rows(chase)
    due_days = sorted({d.day for d in status["due_date"]}) if not status.empty else []
    body = [
        html.H1(f"{state.year}年{frequency}报表报送情况", className="page-title"),
        html.P(f"截止日：期末次月 {'、'.join(str(d) for d in due_days) or '—'} 日（截止日由系统管理员设置）；"
               f"统计日期 {today:%Y-%m-%d}。", className="note"),
        _rate_section(rr, frequency),
        html.H2("逐期报送情况", className="section-title"),
        _matrix(status),
        html.Div(className="actions", children=[
            html.H2(f"催报清单（{len(chase)} 项未报送）", className="section-title"),
            html.Button("导出催报清单 Excel", id=ids.SUBMISSIONS_EXPORT, className="button"),
            html.Button("生成催报通知 Word", id=ids.SUBMISSIONS_NOTICE, className="button")]),
        html.P("联系人在“系统管理 → 下载联系人表”中维护；催报通知每个地区一页，可直接打印盖章下发。",
               className="note"),
        html.Div(className="table-scroll", children=table(chase, CHASE_COLUMNS, id=ids.SUBMISSIONS_CHASE))
        if not chase.empty else html.Div(empty_state("没有逾期未报的报表。"), id=ids.SUBMISSIONS_CHASE),
        _review_section(reviews, state.year),
    ]
    return page_frame(PAGE, state, controls, tools + body)


REVIEW_COLUMNS = {"sid": "报送编号", "file_name": "文件", "region_names": "地区", "periods": "统计期",
                  "uploaded_by": "报送人", "uploaded_text": "上传时间", "state": "审核状态",
                  "comment": "审核意见", "link": "说明"}


def _review_section(reviews, year: int) -> html.Div:
    """审核情况: the year's submissions still 待审核 or 退回, and the corrections of returned ones."""
    if reviews is None or reviews.empty:
        return html.Div(id="submissions-reviews", children=[
            html.H2("审核情况", className="section-title"),
            html.P(f"{year}年的报送均已审核通过。", className="note")])
    frame = reviews.copy()
    frame["sid"] = [f"#{s}" for s in frame["submission_id"]]
    frame["uploaded_text"] = [f"{t:%Y-%m-%d %H:%M}" for t in frame["uploaded_at"]]
    frame["link"] = [None if is_missing(c) else f"更正了被退回的报送 #{int(c)}" for c in frame["corrects_id"]]
    frame["comment"] = [None if is_missing(c) else c for c in frame["comment"]]
    counts = frame["state"].value_counts()
    head = f"审核情况（待审核 {int(counts.get('待审核', 0))} 份，退回 {int(counts.get('退回', 0))} 份）"
    return html.Div(id="submissions-reviews", children=[
        html.H2(head, className="section-title"),
        html.P("待审核的数据已计入看板，其数字标有“※待审”；通报默认只采用审核通过的数据。", className="note"),
        html.Div(className="table-scroll", children=table(frame, REVIEW_COLUMNS, id="submissions-review-table"))])


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


def _chase_rows(chase):
    """The chase list as shown: dates as text, no contact shown as 未登记."""
    out = chase.copy()
    out["due_date"] = [d.strftime("%Y-%m-%d") for d in out["due_date"]]
    for col in ("contact", "phone", "email"):
        out[col] = [v if isinstance(v, str) and v else "未登记" for v in out[col]]
    return out


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


def _chase_for(search):
    """(state, jurisdiction name, frequency, chase list) of the page the button is on."""
    state = state_from_search(search)
    with open_metrics(state.as_of_time) as m:
        state, choices = resolve(m, state)
        if choices.empty:
            return None
        frequency = state.frequency or default_frequency(m, state.jurisdiction)
        chase = m.chase_list(state.jurisdiction, state.year, frequency)
        name = choices.jurisdictions.set_index("code").loc[state.jurisdiction, "name"]
        notice = None
        if not chase.empty:
            from pipelines.workflow.chase_notice import chase_notice_docx
            notice = chase_notice_docx(m, state.jurisdiction, chase)
    return state, name, frequency, chase, notice


@callback(Output(ids.SUBMISSIONS_DOWNLOAD, "data"), Input(ids.SUBMISSIONS_EXPORT, "n_clicks"),
          State(PAGES_LOCATION, "search"), prevent_initial_call=True)
def _export(clicks, search):
    if not clicks:
        return no_update
    found = _chase_for(search)
    if found is None:
        return no_update
    state, name, frequency, chase, _ = found
    from dashboards.export import frame_to_xlsx
    data = frame_to_xlsx(_chase_rows(chase), CHASE_COLUMNS, sheet="催报清单",
                         title=f"{name} {state.year}年{frequency}报表催报清单")
    return dcc.send_bytes(data, f"{name}_{state.year}年{frequency}_催报清单.xlsx")


@callback(Output(ids.SUBMISSIONS_NOTICE_DOWNLOAD, "data"), Input(ids.SUBMISSIONS_NOTICE, "n_clicks"),
          State(PAGES_LOCATION, "search"), prevent_initial_call=True)
def _notice(clicks, search):
    if not clicks:
        return no_update
    found = _chase_for(search)
    if found is None or found[4] is None:
        return no_update
    state, name, frequency, _, notice = found
    return dcc.send_bytes(notice, f"{name}_{state.year}年{frequency}_催报通知.docx")
