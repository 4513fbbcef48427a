"""系统管理 (admins only): the quarterly bulletin, users, the audit log (read-only), targets and
region-tree maintenance.

Bulletin: pick a jurisdiction (in the admin's scope) and a closed quarter, the 成文日期 and the
发文字号's serial; the server writes Word, Excel and PDF (and the 一地一单 notices) while a
spinner runs, then offers them for download (dashboards/bulletin_web.py).

Targets: download a plan's targets or the region trees as a workbook, upload the edited one;
it is validated with the rules of targets/ (every problem at once, with its cell), shown as a
diff, and applied only on confirmation — versioned, origin 'web:<user>', audited.
Access: security.PATH_RULES ("/admin") and CALLBACK_RULES ("admin-").
"""
from __future__ import annotations

import base64
import datetime as dt
import json
from urllib.parse import urlencode

import dash
import flask
from dash import Input, Output, State, callback, dcc, html, no_update

from pipelines import accounts

ADMIN_PLAN = "admin-plan"
ADMIN_PLAN_LINK = "admin-plan-link"
ADMIN_SHEET_UPLOAD = "admin-sheet-upload"
ADMIN_SHEET_CHECK = "admin-sheet-check"
ADMIN_SHEET_PENDING = "admin-sheet-pending"
ADMIN_APPLY = "admin-apply"
ADMIN_APPLY_OUTCOME = "admin-apply-outcome"
ADMIN_AUDIT_ACTION = "admin-audit-action"
ADMIN_AUDIT = "admin-audit"
ADMIN_BULLETIN_REGION = "admin-bulletin-region"
ADMIN_BULLETIN_QUARTER = "admin-bulletin-quarter"
ADMIN_BULLETIN_DATE = "admin-bulletin-date"
ADMIN_BULLETIN_SERIAL = "admin-bulletin-serial"
ADMIN_BULLETIN_NOTICES = "admin-bulletin-notices"
ADMIN_BULLETIN_GO = "admin-bulletin-go"
ADMIN_BULLETIN_OUT = "admin-bulletin-out"
ADMIN_BULLETIN_QUARTERS = "admin-bulletin-quarters"
AUDIT_ROWS = 300
FIELD_LABELS = {"comparator": "比较符", "value": "目标值", "basis": "口径", "clause": "条款", "text": "原文",
                "deadline": "截止日期", "year_from": "年度", "timing": "期限类型", "effective": "生效日期",
                "name": "名称", "parent_code": "上级编码", "level": "层级", "aliases": "别名", "active": "启用"}

dash.register_page(__name__, path="/admin", name="系统管理", title="系统管理 · 医保便民服务指标监测",
                   order=11)


def _store():
    return flask.current_app.extensions["ybjc_store"]


def _user():
    return flask.g.get("ybjc_user")


def _table(headers, rows, id=None):
    kwargs = {"id": id} if id else {}
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in headers])),
                       html.Tbody([html.Tr([html.Td("—" if v is None else str(v)) for v in r]) for r in rows])],
                      className="data-table", **kwargs)


def layout(rendering=None, **params):
    user = _user()
    if rendering is not None and (user is None or user.role != "admin"):
        return html.Div(className="page page-admin", children=[html.Main(className="page-body", children=[
            html.H1("系统管理", className="page-title"), html.P("需要管理员账户。", className="empty-title")])])
    users, plans, actions = [], [], []
    regions, quarters = [], {}
    if rendering is not None:
        from dashboards.bulletin_web import choices

        def read(con):
            return (accounts.list_users(con),
                    con.execute("SELECT code, title FROM plans ORDER BY code").fetchall(),
                    [r[0] for r in con.execute("SELECT DISTINCT action FROM audit_log ORDER BY 1").fetchall()],
                    *choices(con, user))
        users, plans, actions, regions, quarters = _store().run(read)
    plan = plans[0][0] if plans else None
    with_data = [o["value"] for o in regions if quarters.get(o["value"])]
    region = with_data[0] if with_data else (regions[0]["value"] if regions else None)
    qs = quarters.get(region, []) if region else []
    return html.Div(className="page page-admin", children=[html.Main(className="page-body", children=[
        html.H1("系统管理", className="page-title"),
        html.Section(id="admin-bulletin", children=[
            html.H2("季度通报"),
            html.P("生成 Word 公文、Excel 附表和 PDF；数据取自当前数据仓库，导出记入审计日志。",
                   className="note"),
            html.Div(className="controls", children=[
                html.Label(["辖区", dcc.Dropdown(id=ADMIN_BULLETIN_REGION, options=regions, value=region,
                                               clearable=False)], className="control"),
                html.Label(["季度", dcc.Dropdown(id=ADMIN_BULLETIN_QUARTER, clearable=False,
                                               options=[{"label": _quarter_label(q), "value": q} for q in qs],
                                               value=qs[0] if qs else None)], className="control"),
                html.Label(["成文日期", dcc.Input(id=ADMIN_BULLETIN_DATE, type="text",
                                              value=dt.date.today().isoformat(), debounce=True)],
                           className="control"),
                html.Label(["发文字号序号", dcc.Input(id=ADMIN_BULLETIN_SERIAL, type="text", value="",
                                                placeholder="如 12，可留空")], className="control"),
                dcc.Checklist(id=ADMIN_BULLETIN_NOTICES, options=[{"label": "同时生成一地一单通知单",
                                                                  "value": "yes"}], value=[]),
                html.Button("生成通报", id=ADMIN_BULLETIN_GO, n_clicks=0, className="button primary"),
            ]),
            dcc.Store(id=ADMIN_BULLETIN_QUARTERS, data=quarters),
            dcc.Loading(html.Div(id=ADMIN_BULLETIN_OUT), type="default"),
        ]),
        html.Section([
            html.H2("用户"),
            html.P("新建用户、改密码、签发或吊销 API 令牌请在服务器上运行 python -m pipelines users …", className="note"),
            _table(("用户名", "角色", "地区", "状态", "创建时间"),
                   [(u.name, u.role_label, u.region_code or "全部", "已停用" if u.disabled else "正常",
                     f"{u.created_at:%Y-%m-%d %H:%M}" if u.created_at else None) for u in users],
                   id="admin-users"),
        ]),
        html.Section([
            html.H2("目标与地区维护"),
            html.Div(className="controls", children=[
                html.Label(["目标方案", dcc.Dropdown(id=ADMIN_PLAN, clearable=False, value=plan,
                                                 options=[{"label": f"{t}（{c}）", "value": c} for c, t in plans])],
                           className="control"),
                html.A("下载该方案的目标表", id=ADMIN_PLAN_LINK, className="button",
                       href="/admin/download/targets?" + urlencode({"plan": plan or ""})),
                html.A("下载地区树", href="/admin/download/regions", className="button", id="admin-regions-link"),
            ]),
            dcc.Upload(id=ADMIN_SHEET_UPLOAD, accept=".xlsx", multiple=False, className="upload-drop",
                       style={"border": "2px dashed #7f8c9d", "borderRadius": "8px", "padding": "20px",
                              "textAlign": "center", "cursor": "pointer", "marginTop": "12px"},
                       children=html.Div(["将修改后的目标表或地区树拖到这里，或 ", html.A("点击选择文件")])),
            dcc.Loading(html.Div(id=ADMIN_SHEET_CHECK)),
            html.Button("确认应用以上修改", id=ADMIN_APPLY, n_clicks=0, className="button primary",
                        style={"display": "none"}),
            html.Div(id=ADMIN_APPLY_OUTCOME),
            dcc.Store(id=ADMIN_SHEET_PENDING),
        ]),
        html.Section([
            html.H2("审计日志（只读）"),
            html.Label(["操作类型", dcc.Dropdown(id=ADMIN_AUDIT_ACTION, options=actions, value=None,
                                             placeholder="全部")], className="control"),
            html.Div(id=ADMIN_AUDIT, children=audit_table(None) if rendering is not None else None),
        ]),
    ])])


def _quarter_label(code: str) -> str:
    from pipelines.periods import parse_period
    return parse_period(code).label


@callback(Output(ADMIN_BULLETIN_QUARTER, "options"), Output(ADMIN_BULLETIN_QUARTER, "value"),
          Input(ADMIN_BULLETIN_REGION, "value"), State(ADMIN_BULLETIN_QUARTERS, "data"),
          prevent_initial_call=True)
def _bulletin_quarters(region, quarters):
    qs = (quarters or {}).get(region, [])
    return [{"label": _quarter_label(q), "value": q} for q in qs], (qs[0] if qs else None)


@callback(Output(ADMIN_BULLETIN_OUT, "children"), Input(ADMIN_BULLETIN_GO, "n_clicks"),
          State(ADMIN_BULLETIN_REGION, "value"), State(ADMIN_BULLETIN_QUARTER, "value"),
          State(ADMIN_BULLETIN_DATE, "value"), State(ADMIN_BULLETIN_SERIAL, "value"),
          State(ADMIN_BULLETIN_NOTICES, "value"), prevent_initial_call=True)
def _bulletin(n_clicks, region, quarter, issue_date, serial, notices):
    from dashboards.bulletin_web import BulletinRequestError, generate
    if not n_clicks:
        return no_update
    if not region or not quarter:
        return html.P("请选择辖区和季度。", className="upload-rejected", id="admin-bulletin-error")
    try:
        result = generate(_user(), region, quarter, issue_date, serial, "yes" in (notices or []))
    except BulletinRequestError as exc:
        return html.P(f"未生成：{exc}", className="upload-rejected", id="admin-bulletin-error")
    links = [html.Li(html.A(f"下载{label}：{name}", href=f"/admin/bulletin/{result['token']}/{name}",
                            className="bulletin-file"))
             for label, name in result["files"]]
    return html.Div(id="admin-bulletin-done", children=[
        html.P(f"已生成{_quarter_label(quarter)}通报，已记入审计日志。"), html.Ul(links),
        *[html.P(f"提示：{n}", className="note") for n in result["notes"]]])


def audit_table(action):
    def read(con):
        sql = ("SELECT logged_at, actor, action, subject, outcome, detail FROM audit_log "
               + ("WHERE action = ? " if action else "") + f"ORDER BY audit_id DESC LIMIT {AUDIT_ROWS}")
        return con.execute(sql, [action] if action else []).fetchall()
    rows = _store().run(read)
    return _table(("时间", "操作者", "操作", "对象", "结果", "详情"),
                  [(f"{t:%Y-%m-%d %H:%M:%S}", a, act, s, o, d) for t, a, act, s, o, d in rows],
                  id="admin-audit-table")


@callback(Output(ADMIN_AUDIT, "children"), Input(ADMIN_AUDIT_ACTION, "value"), prevent_initial_call=True)
def _audit(action):
    return audit_table(action)


@callback(Output(ADMIN_PLAN_LINK, "href"), Input(ADMIN_PLAN, "value"))
def _plan_link(plan):
    return "/admin/download/targets?" + urlencode({"plan": plan or ""})


def _parse_sheet(contents: str, filename: str | None):
    """The uploaded workbook's cell values, read by the server's bounded parse workers (no
    lock, no warehouse access); SheetError if unreadable."""
    from dashboards.api import safe_file_name
    from pipelines.target_sheets import parsed_workbook
    data = base64.b64decode(contents.split(",", 1)[1])
    return parsed_workbook((safe_file_name(filename), data), _store().parser)


def _read_sheet(con, book):
    """(kind, parsed edit, changes) of a parsed workbook; SheetError if invalid."""
    from pipelines import region_sheets, target_sheets
    names = {s.name for s in book.sheets}
    if "地区" in names and "目标" not in names:
        regions = region_sheets.read_region_workbook(book)
        return "regions", regions, region_sheets.diff_regions(con, regions)
    edit = target_sheets.read_plan_workbook(con, book)
    return "plan", edit, target_sheets.diff_plan(con, edit)


def _fmt(v):
    if v is None:
        return "—"
    if isinstance(v, list):
        return "、".join(v) or "—"
    return str(v)


def _diff_table(changes):
    rows = []
    for ch in changes:
        detail = "；".join(f"{FIELD_LABELS.get(k, k)}：{_fmt(a)} → {_fmt(b)}" for k, (a, b) in ch["fields"].items())
        rows.append((ch["change"], ch["kind"], ch["key"], detail))
    return _table(("变更", "类别", "键", "内容（原 → 新）"), rows, id="admin-diff")


@callback(Output(ADMIN_SHEET_CHECK, "children"), Output(ADMIN_SHEET_PENDING, "data"),
          Output(ADMIN_APPLY, "style"), Output(ADMIN_APPLY_OUTCOME, "children"),
          Input(ADMIN_SHEET_UPLOAD, "contents"), State(ADMIN_SHEET_UPLOAD, "filename"),
          prevent_initial_call=True)
def _check_sheet(contents, filename):
    from pipelines.target_sheets import SheetError
    hidden = {"display": "none"}
    if not contents:
        return no_update, None, hidden, None
    try:
        book = _parse_sheet(contents, filename)
        kind, _, changes = _store().run(lambda con: _read_sheet(con, book))
    except SheetError as exc:
        return (html.Div([html.P(f"{filename} 有 {len(exc.problems)} 个问题，未作任何修改：", className="upload-rejected"),
                          html.Ul([html.Li(p) for p in exc.problems], id="admin-sheet-problems")]),
                None, hidden, None)
    if not changes:
        return html.P(f"{filename} 与当前数据一致，没有需要应用的修改。"), None, hidden, None
    return (html.Div([html.P(f"{filename}：共 {len(changes)} 处修改，请核对后确认应用。"), _diff_table(changes)]),
            {"contents": contents, "kind": kind, "filename": filename},
            {"display": "inline-block", "marginTop": "12px"}, None)


@callback(Output(ADMIN_APPLY_OUTCOME, "children", allow_duplicate=True),
          Output(ADMIN_SHEET_PENDING, "data", allow_duplicate=True),
          Output(ADMIN_APPLY, "style", allow_duplicate=True),
          Input(ADMIN_APPLY, "n_clicks"), State(ADMIN_SHEET_PENDING, "data"), prevent_initial_call=True)
def _apply(n_clicks, pending):
    from pipelines import region_sheets, target_sheets
    if not n_clicks or not pending:
        return no_update, no_update, no_update
    user = _user()

    def apply(con):
        kind, edit, _ = _read_sheet(con, book)
        if kind == "regions":
            return region_sheets.apply_regions(con, edit, user.name)
        return target_sheets.apply_plan(con, edit, user.name)
    try:
        book = _parse_sheet(pending["contents"], pending.get("filename"))
        changes = _store().write(apply)
    except target_sheets.SheetError as exc:
        return html.Ul([html.Li(p) for p in exc.problems]), None, {"display": "none"}
    summary = json.dumps({c: sum(1 for ch in changes if ch["change"] == c) for c in ("新增", "修改", "停用")},
                         ensure_ascii=False)
    return (html.P(f"已应用 {len(changes)} 处修改 {summary}，已记入审计日志。", id="admin-applied"),
            None, {"display": "none"})
