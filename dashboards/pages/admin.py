"""系统管理 (admins only): the quarterly bulletin, users (create, disable, enable, reset
passwords, API tokens, reporter accounts in bulk from a sheet), the audit log in words (filtered,
paged, exported), targets and region-tree maintenance. Every query is in pipelines/ (accounts,
account_sheets, audit_log).

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

from pipelines.accounts import users as accounts
from dashboards.unlocks_panel import unlock_section

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
FIELD_LABELS = {"comparator": "比较符", "value": "目标值", "basis": "口径", "clause": "条款", "text": "原文",
                "deadline": "截止日期", "year_from": "年度", "timing": "期限类型", "effective": "生效日期",
                "name": "名称", "parent_code": "上级编码", "contact": "联系人", "phone": "电话", "email": "邮箱", "level": "层级", "aliases": "别名", "active": "启用"}

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
    plans, actions = [], []
    regions, quarters = [], {}
    if rendering is not None:
        from dashboards.bulletin_web import choices

        def read(con):
            from pipelines.accounts.audit_log import action_choices
            from pipelines.catalog.target_sheets import plan_choices
            return (plan_choices(con), action_choices(con), *choices(con, user))
        plans, actions, regions, quarters = _store().read(read)
    plan = plans[0][0] if plans else None
    with_data = [o["value"] for o in regions if quarters.get(o["value"])]
    region = with_data[0] if with_data else (regions[0]["value"] if regions else None)
    qs = quarters.get(region, []) if region else []
    return html.Div(className="page page-admin", children=[html.Main(className="page-body", children=[
        html.H1("系统管理", className="page-title"),
        *in_sections(params.get("section"), [
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
        users_section(rendering is not None),
        html.Section(id="admin-targets", children=[
            html.H2("目标、地区与联系人维护"),
            html.Div(className="controls", children=[
                html.Label(["目标方案", dcc.Dropdown(id=ADMIN_PLAN, clearable=False, value=plan,
                                                 options=[{"label": f"{t}（{c}）", "value": c} for c, t in plans])],
                           className="control"),
                html.A("下载该方案的目标表", id=ADMIN_PLAN_LINK, className="button",
                       href="/admin/download/targets?" + urlencode({"plan": plan or ""})),
                html.A("下载地区树", href="/admin/download/regions", className="button", id="admin-regions-link"),
                html.A("下载联系人表", href="/admin/download/contacts", className="button", id="admin-contacts-link"),
            ]),
            dcc.Upload(id=ADMIN_SHEET_UPLOAD, accept=".xlsx", multiple=False, className="upload-drop",
                       style={"border": "2px dashed #7f8c9d", "borderRadius": "8px", "padding": "20px",
                              "textAlign": "center", "cursor": "pointer", "marginTop": "12px"},
                       children=html.Div(["将修改后的目标表、地区树或联系人表拖到这里，或 ", html.A("点击选择文件")])),
            dcc.Loading(html.Div(id=ADMIN_SHEET_CHECK)),
            html.Button("确认应用以上修改", id=ADMIN_APPLY, n_clicks=0, className="button primary",
                        style={"display": "none"}),
            html.Div(id=ADMIN_APPLY_OUTCOME),
            dcc.Store(id=ADMIN_SHEET_PENDING),
        ]),
        unlock_section(rendering is not None),
        audit_section(rendering is not None, actions),
        ]),
    ])])


# The page in sections, one shown at a time (?section=users …), so that it is not one long
# scroll; every section stays in the layout (hidden), so its callbacks keep their components.
# A section added to the page gets its tab from its id and first heading.
SECTION_TABS = {"admin-users": "用户与账户", "admin-targets": "目标、地区与联系人", "admin-audit-log": "审计日志",
                "admin-bulletin": "季度通报"}
ADMIN_SECTIONS = "admin-sections"


def _heading(section) -> str:
    for child in section.children if isinstance(section.children, list) else [section.children]:
        if isinstance(child, html.H2):
            return str(child.children)
    return "其他"


def in_sections(chosen: str | None, sections: list) -> list:
    """The tab bar and the sections, the chosen one (default: the first tab) shown."""
    order = list(SECTION_TABS)
    sections = sorted(sections, key=lambda s: order.index(s.id) if s.id in order else len(order))
    keys = [s.id.removeprefix("admin-") for s in sections]
    chosen = chosen if chosen in keys else keys[0]
    tabs = html.Nav(id=ADMIN_SECTIONS, className="section-tabs", **{"aria-label": "系统管理分区"}, children=[
        dcc.Link(SECTION_TABS.get(s.id) or _heading(s), href=f"/admin?section={key}",
                 className="section-tab" + (" active" if key == chosen else ""), id=f"admin-tab-{key}")
        for s, key in zip(sections, keys)])
    for s, key in zip(sections, keys):
        s.hidden = key != chosen
    return [tabs, *sections]


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


# --- users ---------------------------------------------------------------------------------

ADMIN_USERS_BOX = "admin-users-box"
ADMIN_NEW_NAME, ADMIN_NEW_ROLE = "admin-new-name", "admin-new-role"
ADMIN_NEW_REGION, ADMIN_NEW_EMAIL = "admin-new-region", "admin-new-email"
ADMIN_CREATE = "admin-create"
ADMIN_PICK_USER = "admin-pick-user"
ADMIN_USER_ACTIONS = {"admin-disable": "停用", "admin-enable": "启用", "admin-reset": "重置密码",
                      "admin-token": "签发 API 令牌", "admin-revoke": "吊销全部令牌"}
ADMIN_USER_OUTCOME = "admin-user-outcome"
ADMIN_BATCH_JUR, ADMIN_BATCH_LINK = "admin-batch-jurisdiction", "admin-batch-link"
ADMIN_BATCH_UPLOAD, ADMIN_BATCH_CHECK = "admin-batch-upload", "admin-batch-check"
ADMIN_BATCH_PENDING, ADMIN_BATCH_APPLY = "admin-batch-pending", "admin-batch-apply"
ADMIN_BATCH_OUTCOME, ADMIN_BATCH_DOWNLOAD = "admin-batch-outcome", "admin-batch-download"
ROLE_OPTIONS = [{"label": label, "value": code} for code, label in accounts.ROLE_LABELS.items()]
_DROP = {"border": "2px dashed #7f8c9d", "borderRadius": "8px", "padding": "20px",
         "textAlign": "center", "cursor": "pointer", "marginTop": "12px"}


def users_table():
    rows = _store().read(accounts.user_rows)
    return _table(("用户名", "角色", "地区", "邮箱", "状态", "API 令牌", "创建时间"),
                  [(u.name, u.role_label, f"{rname}（{u.region_code}）" if u.region_code else "全部地区",
                    u.email, "已停用" if u.disabled else ("待改初始密码" if u.must_change else "正常"),
                    f"{tokens} 个有效" if tokens else "无",
                    f"{u.created_at:%Y-%m-%d %H:%M}" if u.created_at else None) for u, rname, tokens in rows],
                  id="admin-users")


def _user_options():
    return [{"label": f"{u.name}（{u.role_label}{'，已停用' if u.disabled else ''}）", "value": u.name}
            for u in _store().read(accounts.list_users)]


def users_section(rendering: bool):
    regions, jurs, users = [], [], []
    if rendering:
        regions = _store().read(accounts.region_choices)
        jurs = _store().read(accounts.jurisdiction_choices)
        users = _user_options()
    region_options = [{"label": ("　" * depth) + f"{name}（{code}）", "value": code} for code, name, depth in regions]
    jur = jurs[0][0] if jurs else None
    return html.Section(id="admin-users", children=[
        html.H2("用户"),
        html.Div(id=ADMIN_USERS_BOX, children=users_table() if rendering else None, className="table-scroll"),
        html.H3("新建用户"),
        html.Div(className="controls", children=[
            html.Label(["用户名", dcc.Input(id=ADMIN_NEW_NAME, type="text", debounce=False)], className="control"),
            html.Label(["角色", dcc.Dropdown(id=ADMIN_NEW_ROLE, options=ROLE_OPTIONS, value="reporter",
                                           clearable=False, placeholder="请选择角色")], className="control"),
            html.Label(["地区（填报员必选）", dcc.Dropdown(id=ADMIN_NEW_REGION, options=region_options,
                                                 placeholder="请选择地区", searchable=True)], className="control"),
            html.Label(["邮箱（可空）", dcc.Input(id=ADMIN_NEW_EMAIL, type="email")], className="control"),
            html.Button("新建用户", id=ADMIN_CREATE, n_clicks=0, className="button primary"),
        ]),
        html.H3("管理已有用户"),
        html.Div(className="controls", children=[
            html.Label(["用户", dcc.Dropdown(id=ADMIN_PICK_USER, options=users, placeholder="请选择用户")],
                       className="control"),
            *[html.Button(text, id=cid, n_clicks=0, className="button") for cid, text in ADMIN_USER_ACTIONS.items()],
        ]),
        html.P("重置的密码和新签发的令牌只显示这一次；停用、重置密码会使该用户在各处的登录立即失效。",
               className="note"),
        html.Div(id=ADMIN_USER_OUTCOME, role="status"),
        html.H3("批量创建填报员账户"),
        html.P("选择辖区，下载其各单位的账户表（已有填报员的单位不列出），可修改用户名、角色、邮箱后上传；"
               "核对无误后确认创建，初始密码以 Excel 文件提供一次，首次登录须修改。", className="note"),
        html.Div(className="controls", children=[
            html.Label(["辖区", dcc.Dropdown(id=ADMIN_BATCH_JUR, clearable=False, value=jur,
                                           options=[{"label": n, "value": c} for c, n in jurs])],
                       className="control"),
            html.A("下载账户表", id=ADMIN_BATCH_LINK, className="button",
                   href="/admin/download/accounts?" + urlencode({"jurisdiction": jur or ""})),
        ]),
        dcc.Upload(id=ADMIN_BATCH_UPLOAD, accept=".xlsx", multiple=False, className="upload-drop", style=_DROP,
                   children=html.Div(["将填好的账户表拖到这里，或 ", html.A("点击选择文件")])),
        dcc.Loading(html.Div(id=ADMIN_BATCH_CHECK)),
        html.Button("确认创建以上账户", id=ADMIN_BATCH_APPLY, n_clicks=0, className="button primary",
                    style={"display": "none"}),
        html.Div(id=ADMIN_BATCH_OUTCOME),
        dcc.Store(id=ADMIN_BATCH_PENDING),
        dcc.Download(id=ADMIN_BATCH_DOWNLOAD),
    ])


@callback(Output(ADMIN_BATCH_LINK, "href"), Input(ADMIN_BATCH_JUR, "value"))
def _batch_link(jur):
    return "/admin/download/accounts?" + urlencode({"jurisdiction": jur or ""})


def _secret(label: str, value: str, note: str):
    return html.Div(className="secret", children=[
        html.Span(label), html.Code(value, id="admin-secret", className="secret-value"),
        html.P(note, className="note")])


@callback(Output(ADMIN_USER_OUTCOME, "children"), Output(ADMIN_USERS_BOX, "children"),
          Output(ADMIN_PICK_USER, "options"),
          Input(ADMIN_CREATE, "n_clicks"), *[Input(cid, "n_clicks") for cid in ADMIN_USER_ACTIONS],
          State(ADMIN_NEW_NAME, "value"), State(ADMIN_NEW_ROLE, "value"), State(ADMIN_NEW_REGION, "value"),
          State(ADMIN_NEW_EMAIL, "value"), State(ADMIN_PICK_USER, "value"), prevent_initial_call=True)
def _user_action(*args):
    name, role, region, email, picked = args[-5:]
    which = dash.ctx.triggered_id
    if not which or not any(args[:-5]):
        return no_update, no_update, no_update
    actor = _user().name

    def act(con):
        if which == ADMIN_CREATE:
            password = accounts.new_password()
            user = accounts.add_user(con, name or "", role or "", password, region or None, actor=actor,
                                     email=email, must_change=True)
            return _secret(f"已新建用户 {user.name}（{user.role_label}），初始密码：", password,
                           "请把初始密码当面或电话告知本人；此密码只显示这一次，首次登录时必须修改。")
        if not picked:
            raise accounts.AccountError("请先在“用户”下拉框中选择一个用户")
        if picked == actor and which == "admin-disable":
            raise accounts.AccountError("不能停用当前登录的管理员自己")
        if which == "admin-disable":
            n = accounts.disable_user(con, picked, actor=actor)
            return html.P(f"已停用用户 {picked}，吊销 API 令牌 {n} 个，其登录已全部失效。")
        if which == "admin-enable":
            accounts.enable_user(con, picked, actor=actor)
            return html.P(f"已启用用户 {picked}。原有 API 令牌仍为吊销状态，如需要请重新签发。")
        if which == "admin-reset":
            password = accounts.reset_password(con, picked, actor=actor)
            return _secret(f"已重置用户 {picked} 的密码，新密码：", password,
                           "此密码只显示这一次；该用户原有的登录已全部失效，下次登录时必须修改密码。")
        if which == "admin-token":
            token = accounts.create_token(con, picked, actor=actor)
            return _secret(f"已为用户 {picked} 签发 API 令牌：", token,
                           "令牌只显示这一次，请复制后交给对方（请求头 Authorization: Bearer <令牌>）。")
        n = accounts.revoke_tokens(con, picked, actor=actor)
        return html.P(f"已吊销用户 {picked} 的 {n} 个 API 令牌。")
    try:
        outcome = _store().write(act)
    except accounts.AccountError as exc:
        outcome = html.P(str(exc), className="upload-rejected", id="admin-user-error")
    return outcome, users_table(), _user_options()


@callback(Output(ADMIN_BATCH_CHECK, "children"), Output(ADMIN_BATCH_PENDING, "data"),
          Output(ADMIN_BATCH_APPLY, "style"), Output(ADMIN_BATCH_OUTCOME, "children"),
          Input(ADMIN_BATCH_UPLOAD, "contents"), State(ADMIN_BATCH_UPLOAD, "filename"),
          prevent_initial_call=True)
def _batch_check(contents, filename):
    from pipelines.accounts.account_sheets import read_accounts_workbook
    from pipelines.catalog.target_sheets import SheetError
    hidden = {"display": "none"}
    if not contents:
        return no_update, None, hidden, None
    try:
        book = _parse_sheet(contents, filename)
        rows = _store().read(lambda con: read_accounts_workbook(con, book))
    except SheetError as exc:
        return (html.Div([html.P(f"{filename} 有 {len(exc.problems)} 个问题，未创建任何账户：",
                                 className="upload-rejected"),
                          html.Ul([html.Li(p) for p in exc.problems], id="admin-batch-problems")]),
                None, hidden, None)
    table = _table(("行", "用户名", "角色", "地区", "邮箱"),
                   [(r["row"], r["name"], accounts.ROLE_LABELS[r["role"]], r["region_code"] or "全部地区",
                     r["email"]) for r in rows], id="admin-batch-preview")
    return (html.Div([html.P(f"{filename}：将创建 {len(rows)} 个账户，请核对后确认。"), table]),
            {"contents": contents, "filename": filename},
            {"display": "inline-block", "marginTop": "12px"}, None)


@callback(Output(ADMIN_BATCH_OUTCOME, "children", allow_duplicate=True),
          Output(ADMIN_BATCH_DOWNLOAD, "data"),
          Output(ADMIN_BATCH_PENDING, "data", allow_duplicate=True),
          Output(ADMIN_BATCH_APPLY, "style", allow_duplicate=True),
          Output(ADMIN_USERS_BOX, "children", allow_duplicate=True),
          Input(ADMIN_BATCH_APPLY, "n_clicks"), State(ADMIN_BATCH_PENDING, "data"), prevent_initial_call=True)
def _batch_apply(n_clicks, pending):
    from pipelines.accounts.account_sheets import (create_accounts, passwords_xlsx,
                                                   read_accounts_workbook)
    from pipelines.catalog.target_sheets import SheetError
    if not n_clicks or not pending:
        return no_update, no_update, no_update, no_update, no_update
    actor = _user().name
    try:
        book = _parse_sheet(pending["contents"], pending.get("filename"))

        def create(con):
            created = create_accounts(con, read_accounts_workbook(con, book), actor)
            return created, passwords_xlsx(con, created)
        created, data = _store().write(create)
    except SheetError as exc:          # the warehouse changed since the check: nothing created
        return (html.Ul([html.Li(p) for p in exc.problems], id="admin-batch-problems"), no_update, None,
                {"display": "none"}, no_update)
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M")
    return (html.P(f"已创建 {len(created)} 个账户；初始密码文件已下载（只提供这一次），首次登录须修改密码。",
                   id="admin-batch-created"),
            dcc.send_bytes(data, f"初始密码_{stamp}.xlsx"), None, {"display": "none"}, users_table())


# --- audit log -----------------------------------------------------------------------------

ADMIN_AUDIT_USER, ADMIN_AUDIT_REGION = "admin-audit-user", "admin-audit-region"
ADMIN_AUDIT_DATES, ADMIN_AUDIT_PAGE = "admin-audit-dates", "admin-audit-page"
ADMIN_AUDIT_EXPORT = "admin-audit-export"


def audit_section(rendering: bool, actions):
    actors, regions = [], []
    if rendering:
        from pipelines.accounts.audit_log import actor_choices
        actors = _store().read(actor_choices)
        regions = _store().read(accounts.region_choices)
    return html.Section(id="admin-audit-log", children=[
        html.H2("审计日志（只读）"),
        html.Div(className="controls", children=[
            html.Label(["操作类型", dcc.Dropdown(id=ADMIN_AUDIT_ACTION, placeholder="全部",
                                             options=[{"label": label, "value": a} for a, label in actions])],
                       className="control"),
            html.Label(["用户", dcc.Dropdown(id=ADMIN_AUDIT_USER, placeholder="全部",
                                           options=[{"label": "系统" if a == "system" else a, "value": a}
                                                    for a in actors])], className="control"),
            html.Label(["地区", dcc.Dropdown(id=ADMIN_AUDIT_REGION, placeholder="全部",
                                           options=[{"label": ("　" * d) + n, "value": c} for c, n, d in regions])],
                       className="control"),
            html.Label(["日期", dcc.DatePickerRange(id=ADMIN_AUDIT_DATES, display_format="YYYY-MM-DD",
                                                  start_date_placeholder_text="开始日期",
                                                  end_date_placeholder_text="结束日期", clearable=True)],
                       className="control"),
            html.Button("导出 Excel", id=ADMIN_AUDIT_EXPORT, n_clicks=0, className="button"),
            dcc.Download(id="admin-audit-download"),
        ]),
        dcc.Store(id=ADMIN_AUDIT_PAGE, data=1),
        html.Div(id=ADMIN_AUDIT, children=audit_table({}) if rendering else None),
    ])


def _filters(action, user, region, start, end) -> dict:
    def day(v):
        return dt.date.fromisoformat(v[:10]) if v else None
    return {"action": action or None, "user": user or None, "region": region or None,
            "date_from": day(start), "date_to": day(end)}


def audit_table(filters: dict, page: int = 1):
    from pipelines.accounts.audit_log import COLUMNS, query
    result = _store().read(lambda con: query(con, **filters, page=page))
    pager = html.Div(className="pager", children=[
        html.Button("上一页", id={"type": "admin-audit-step", "step": -1}, n_clicks=0, className="button",
                    disabled=result.page <= 1),
        html.Span(f"第 {result.page} / {result.pages} 页，共 {result.total} 条", id="admin-audit-pageinfo"),
        html.Button("下一页", id={"type": "admin-audit-step", "step": 1}, n_clicks=0, className="button",
                    disabled=result.page >= result.pages)])
    return html.Div([html.Div(_table(COLUMNS, result.rows, id="admin-audit-table"), className="table-scroll"),
                     pager])


@callback(Output(ADMIN_AUDIT, "children"), Output(ADMIN_AUDIT_PAGE, "data"),
          Input(ADMIN_AUDIT_ACTION, "value"), Input(ADMIN_AUDIT_USER, "value"),
          Input(ADMIN_AUDIT_REGION, "value"), Input(ADMIN_AUDIT_DATES, "start_date"),
          Input(ADMIN_AUDIT_DATES, "end_date"),
          Input({"type": "admin-audit-step", "step": dash.ALL}, "n_clicks"),
          State(ADMIN_AUDIT_PAGE, "data"), prevent_initial_call=True)
def _audit(action, user, region, start, end, _steps, page):
    trig = dash.ctx.triggered_id
    page = int(page or 1)
    if isinstance(trig, dict) and trig.get("type") == "admin-audit-step":
        if not any(_steps):
            return no_update, no_update
        page += int(trig["step"])
    else:
        page = 1
    return audit_table(_filters(action, user, region, start, end), page), page


@callback(Output("admin-audit-download", "data"), Input(ADMIN_AUDIT_EXPORT, "n_clicks"),
          State(ADMIN_AUDIT_ACTION, "value"), State(ADMIN_AUDIT_USER, "value"),
          State(ADMIN_AUDIT_REGION, "value"), State(ADMIN_AUDIT_DATES, "start_date"),
          State(ADMIN_AUDIT_DATES, "end_date"), prevent_initial_call=True)
def _audit_export(n, action, user, region, start, end):
    from pipelines.accounts.audit_log import export_xlsx
    if not n:
        return no_update
    data = _store().read(lambda con: export_xlsx(con, **_filters(action, user, region, start, end)))
    return dcc.send_bytes(data, f"审计日志_{dt.datetime.now():%Y%m%d%H%M}.xlsx")


@callback(Output(ADMIN_PLAN_LINK, "href"), Input(ADMIN_PLAN, "value"))
def _plan_link(plan):
    return "/admin/download/targets?" + urlencode({"plan": plan or ""})


def _parse_sheet(contents: str, filename: str | None):
    """The uploaded workbook's cell values, read by the server's bounded parse workers (no
    lock, no warehouse access); SheetError if unreadable."""
    from dashboards.api import safe_file_name
    from pipelines.catalog.target_sheets import parsed_workbook
    data = base64.b64decode(contents.split(",", 1)[1])
    return parsed_workbook((safe_file_name(filename), data), _store().parser)


def _read_sheet(con, book):
    """(kind, parsed edit, changes) of a parsed workbook; SheetError if invalid."""
    from pipelines.catalog import region_sheets, target_sheets
    names = {s.name for s in book.sheets}
    if "联系人" in names and "目标" not in names:
        from pipelines.workflow import contacts
        rows = contacts.read_contacts_workbook(con, book)
        return "contacts", rows, contacts.diff_contacts(con, rows)
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
    from pipelines.catalog.target_sheets import SheetError
    hidden = {"display": "none"}
    if not contents:
        return no_update, None, hidden, None
    try:
        book = _parse_sheet(contents, filename)
        kind, _, changes = _store().read(lambda con: _read_sheet(con, book))
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
    from pipelines.catalog import region_sheets, target_sheets
    if not n_clicks or not pending:
        return no_update, no_update, no_update
    user = _user()

    def apply(con):
        kind, edit, _ = _read_sheet(con, book)
        if kind == "regions":
            return region_sheets.apply_regions(con, edit, user.name)
        if kind == "contacts":
            from pipelines.workflow import contacts
            return contacts.apply_contacts(con, edit, user.name)
        return target_sheets.apply_plan(con, edit, user.name)
    try:
        book = _parse_sheet(pending["contents"], pending.get("filename"))
        changes = _store().write(apply)
    except target_sheets.SheetError as exc:
        return html.Ul([html.Li(p) for p in exc.problems]), None, {"display": "none"}
    summary = "（" + "、".join(f"{c} {n}" for c in ("新增", "修改", "停用", "删除")
                               if (n := sum(1 for ch in changes if ch["change"] == c))) + "）"
    return (html.P(f"已应用 {len(changes)} 处修改 {summary}，已记入审计日志。", id="admin-applied"),
            None, {"display": "none"})
