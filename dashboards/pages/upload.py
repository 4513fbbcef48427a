"""数据报送: download the template of one's own region, upload the filled return, see every
problem (sheet, cell, how to fix) before anything is written, confirm warnings, load.

The server checks first (ingest_files dry_run) and loads only after the confirmation; both
steps run through the server's own warehouse connection (Warehouse.ingest, serialised). A
reporter's file with any row outside the reporter's region is refused whole; admins may upload
compiled long tables for any region. Access: security.PATH_RULES / CALLBACK_RULES ("upload-").
"""
from __future__ import annotations

import base64
import datetime as dt
from urllib.parse import urlencode

import dash
import flask
from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from dashboards.review_notice import returned_panel, upload_review_note
from pipelines.accounts import users as accounts
from dashboards.answer_form import ANSWER_TYPE, answer_form, answers_from

UPLOAD_REGION = "upload-region"
UPLOAD_PERIOD = "upload-period"
UPLOAD_TEMPLATE_LINK = "upload-template-link"
UPLOAD_FILE = "upload-file"
UPLOAD_PENDING = "upload-pending"
UPLOAD_CHECK = "upload-check"
UPLOAD_SIZE_NOTE = "upload-size-note"          # written by assets/size_note.js only
UPLOAD_CONFIRM = "upload-confirm"
UPLOAD_OUTCOME = "upload-outcome"
MAX_FILE_BYTES = 20 * 1024 * 1024

dash.register_page(__name__, path="/upload", name="数据报送", title="数据报送 · 医保便民服务指标监测",
                   order=10)


def _user():
    return flask.g.get("ybjc_user")


def _store():
    return flask.current_app.extensions["ybjc_store"]


def period_options(today: dt.date | None = None) -> list[dict]:
    """Recent months, quarters and years, newest first, labelled in Chinese."""
    from pipelines.periods import parse_period
    today = today or dt.date.today()
    months, y, m = [], today.year, today.month
    for _ in range(18):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        months.append(f"{y}-{m:02d}")
    q_now = (today.month - 1) // 3 + 1
    quarters = []
    y, q = today.year, q_now
    for _ in range(6):
        q -= 1
        if q == 0:
            y, q = y - 1, 4
        quarters.append(f"{y}Q{q}")
    years = [str(today.year - 1), str(today.year - 2)]
    return [{"label": parse_period(c).label, "value": c} for c in months + quarters + years]


def _scope_name(user) -> str:
    """The reporter's region by name, for the scope line."""
    if user is None or not user.region_code:
        return ""
    return _store().read(lambda con: accounts.region_name(con, user.region_code))


def region_options(user) -> list[dict]:
    def read(con):
        allowed = accounts.allowed_regions(con, user)
        rows = accounts.region_choices(con)
        return [{"label": ("　" * depth) + f"{name}（{code}）", "value": code}
                for code, name, depth in rows if allowed is None or code in allowed]
    return _store().read(read)


def layout(rendering=None, **params):
    user = _user()
    if rendering is not None and not accounts.can_submit(user):
        return html.Div(className="page page-upload", children=[html.Main(className="page-body", children=[
            html.H1("数据报送", className="page-title"),
            html.P("当前账户没有报送权限：需要填报员或管理员账户。", className="empty-title")])])
    regions = region_options(user) if rendering is not None else []
    if rendering is not None:
        _store().warm_up_ingest()
    periods = period_options()
    region = params.get("region") or (user.region_code if user and user.region_code else
                                      (regions[0]["value"] if regions else None))
    period = params.get("period") or periods[0]["value"]
    if period not in {o["value"] for o in periods}:
        from pipelines.periods import PeriodError, parse_period
        try:
            parsed = parse_period(period)
            period = parsed.code
            periods.insert(0, {"label": parsed.label, "value": period})
        except PeriodError:
            period = periods[0]["value"]
    scope = ("可报送全部地区（含汇总长表）" if user is not None and user.role == "admin"
             else f"只能报送本地区及下级地区：{_scope_name(user)}" if user is not None else "")
    return html.Div(className="page page-upload", children=[html.Main(className="page-body", children=[
        html.H1("数据报送", className="page-title"),
        html.P(scope, className="note", id="upload-scope"),
        returned_panel(user) if rendering is not None else None,
        owed_panel(user) if rendering is not None and user is not None and user.region_code else None,
        html.Section(className="upload-step", children=[
            html.H2("第一步：下载报送模板"),
            html.Div(className="controls", children=[
                html.Label(["地区", dcc.Dropdown(id=UPLOAD_REGION, options=regions, value=region,
                                                clearable=False)], className="control"),
                html.Label(["统计期", dcc.Dropdown(id=UPLOAD_PERIOD, options=periods, value=period,
                                                 clearable=False)], className="control"),
                html.A("下载模板", id=UPLOAD_TEMPLATE_LINK, className="button",
                       href=template_href(region, period)),
            ]),
        ]),
        html.Section(className="upload-step", children=[
            html.H2("第二步：上传填好的报表"),
            # No `accept` filter: the browser would drop an .xls, .csv or .pdf without a word;
            # every file goes to the server, whose check names what it is and how to fix it.
            dcc.Upload(id=UPLOAD_FILE, multiple=False, max_size=MAX_FILE_BYTES,
                       className="upload-drop",
                       style={"border": "2px dashed #7f8c9d", "borderRadius": "8px", "padding": "28px",
                              "textAlign": "center", "cursor": "pointer", "fontSize": "18px"},
                       children=html.Div(["将 .xlsx 报表拖到这里，或 ", html.A("点击选择文件"),
                                           html.Div("只接受 Excel 工作簿（.xlsx 或 .xlsm），不超过 20 MB", className="upload-hint")])),
            # Said by assets/size_note.js: the upload box drops a file over max_size silently.
            html.Div(id=UPLOAD_SIZE_NOTE, className="upload-size-note", role="alert", hidden=True,
                     **{"data-max-bytes": str(MAX_FILE_BYTES)}),
            dcc.Loading(html.Div(id=UPLOAD_CHECK, className="upload-check")),
            html.Button("确认提交", id=UPLOAD_CONFIRM, className="button primary", n_clicks=0,
                        disabled=True, style={"display": "none"}),
            dcc.Loading(html.Div(id=UPLOAD_OUTCOME, className="upload-outcome")),
            dcc.Store(id=UPLOAD_PENDING),
        ]),
    ])])


def owed_panel(user) -> html.Section:
    """What the reporter's region owes and by when (Metrics.owed_by): overdue, then due soon."""
    from dashboards.store import open_metrics
    with open_metrics() as m:
        owed = m.owed_by(user.region_code)
        name = m.reporting().tree.name.get(user.region_code, user.region_code)
    if owed.empty:
        body = html.P(f"{name}目前没有逾期或近期到期的报表。", className="note")
    else:
        rows = []
        for rec in owed.iloc[::-1].to_dict("records"):      # the nearest deadline first
            late = rec["status"] == "逾期未报"
            when = f"已逾期 {rec['days']} 天" if late else ("今天截止" if rec["days"] == 0 else f"还有 {rec['days']} 天")
            rows.append(html.Tr([
                html.Td(f"{rec['period_label']}{rec['frequency']}报表"),
                html.Td(f"{rec['due_date']:%Y-%m-%d}"),
                html.Td(rec["status"], className="status-short" if late else "status-near"),
                html.Td(when),
                html.Td(dcc.Link("填报此期", href="/upload?" + urlencode({"period": rec["period"]})))]))
        body = html.Table([html.Thead(html.Tr([html.Th(h) for h in ("报表", "截止日期", "状态", "时限", "")])),
                           html.Tbody(rows)], className="data-table owed-table", id="upload-owed-table")
        body = html.Div(body, className="owed-scroll")
    return html.Section(className="upload-step", id="upload-owed", children=[
        html.H2(f"本单位待报送（{name}，{len(owed)} 项）"), body])


def template_href(region, period) -> str:
    return "/download/template?" + urlencode({"region": region or "", "period": period or ""})


@callback(Output(UPLOAD_TEMPLATE_LINK, "href"), Input(UPLOAD_REGION, "value"), Input(UPLOAD_PERIOD, "value"))
def _template_link(region, period):
    return template_href(region, period)


def _issue_table(outcome) -> html.Table:
    rows = [("错误", i) for i in outcome.errors] + [("警告", i) for i in outcome.warnings]
    head = html.Thead(html.Tr([html.Th(h) for h in ("级别", "工作表", "单元格", "问题及修改方法")]))
    body = [html.Tr([html.Td(level, className="issue-" + ("error" if level == "错误" else "warning")),
                     html.Td(getattr(i, "sheet", "") or "—"), html.Td(getattr(i, "cell", "") or "—"),
                     html.Td(getattr(i, "message", str(i)))]) for level, i in rows]
    return html.Table([head, html.Tbody(body)], className="data-table upload-issues", id="upload-issues")


def _run(contents: str, filename: str, dry_run: bool, answers: dict | None = None):
    user = _user()
    store = _store()
    allowed = store.read(lambda con: accounts.allowed_regions(con, user))
    from dashboards.api import safe_file_name
    data = base64.b64decode(contents.split(",", 1)[1] if "," in contents else contents)
    return store.ingest([(safe_file_name(filename), data)], user=user.name, channel="web",
                        allowed_regions=allowed, dry_run=dry_run, answers=answers)[0]


HIDDEN = {"display": "none"}
SHOWN = {"display": "inline-block", "marginTop": "16px", "fontSize": "18px"}


@callback(Output(UPLOAD_CHECK, "children"), Output(UPLOAD_PENDING, "data"),
          Output(UPLOAD_CONFIRM, "disabled"), Output(UPLOAD_CONFIRM, "style"),
          Output(UPLOAD_CONFIRM, "children"), Output(UPLOAD_OUTCOME, "children"),
          Input(UPLOAD_FILE, "contents"), State(UPLOAD_FILE, "filename"), prevent_initial_call=True)
def _check(contents, filename):
    if not contents:
        return no_update, None, True, HIDDEN, "确认提交", None
    outcome = _run(contents, filename, dry_run=True)
    name = html.Strong(filename)
    if outcome.scope_violation:
        return (html.Div([html.P(["文件 ", name, " 被整体拒收：其中有不属于您报送范围的数据。"],
                                 className="upload-refused"), _issue_table(outcome)]),
                None, True, HIDDEN, "确认提交", None)
    if outcome.errors:
        return (html.Div([html.P(["文件 ", name, f" 有 {len(outcome.errors)} 处错误，未载入任何数据。"
                                  "请按下表逐项修改后重新上传。"], className="upload-rejected"),
                          _issue_table(outcome)]), None, True, HIDDEN, "确认提交", None)
    pending = {"contents": contents, "filename": filename}
    if outcome.status == "duplicate":
        return (html.P(["文件 ", name, " 与已接收的文件完全相同，无需重复提交。"], className="upload-duplicate"),
                None, True, HIDDEN, "确认提交", None)
    if outcome.warnings:
        return (html.Div([html.P(["文件 ", name, f" 校验通过，共 {outcome.rows} 条数据，但有 "
                                  f"{len(outcome.warnings)} 条警告。请核对；确认无误后点击下方按钮提交。"],
                                 className="upload-warned"), _issue_table(outcome), answer_form(outcome)]),
                pending, False, SHOWN, "已核对警告，确认提交", None)
    return (html.P(["文件 ", name, f" 校验通过，共 {outcome.rows} 条数据。点击“确认提交”载入。"],
                   className="upload-valid"), pending, False, SHOWN, "确认提交", None)


@callback(Output(UPLOAD_OUTCOME, "children", allow_duplicate=True),
          Output(UPLOAD_PENDING, "data", allow_duplicate=True),
          Output(UPLOAD_CONFIRM, "style", allow_duplicate=True),
          Input(UPLOAD_CONFIRM, "n_clicks"), State(UPLOAD_PENDING, "data"),
          State({"type": ANSWER_TYPE, "key": ALL}, "value"), State({"type": ANSWER_TYPE, "key": ALL}, "id"),
          prevent_initial_call=True)
def _confirm(n_clicks, pending, answer_values=None, answer_ids=None):
    if not n_clicks or not pending:
        return no_update, no_update, no_update
    outcome = _run(pending["contents"], pending["filename"], dry_run=False,
                   answers=answers_from(answer_values, answer_ids))
    if outcome.status == "rejected":
        if all(getattr(e, "kind", None) == "answer" for e in outcome.errors):   # fill in the 说明, submit again
            return (html.Div([html.P("提交失败，未载入任何数据：请在上方填写下列警告的说明后再次点击提交。",
                                     className="upload-rejected"), _issue_table(outcome)]), no_update, SHOWN)
        return (html.Div([html.P("提交失败，未载入任何数据：", className="upload-rejected"),
                          _issue_table(outcome)]), None, HIDDEN)
    overview = "/?" + urlencode(_overview_query(outcome))
    text = (f"已接收：{outcome.rows} 条数据（新增 {outcome.new}，更正 {outcome.revisions}，"
            f"未变 {outcome.unchanged}）。" if outcome.status == "accepted"
            else "该文件此前已接收，数据未变。")
    return (html.Div([html.P(text, className="upload-accepted", id="upload-accepted"),
                      upload_review_note(outcome.submission_id),
                      dcc.Link("在总览中查看", href=overview, id="upload-overview-link")]), None, HIDDEN)


def _overview_query(outcome) -> dict:
    """Jurisdiction and period of the loaded file, for the link to the overview."""
    if not outcome.submission_id:
        return {}
    from pipelines.returns.submission_info import submission_place
    place = _store().read(lambda con: submission_place(con, outcome.submission_id))
    return {"jurisdiction": place[0], "period": place[1]} if place else {}
