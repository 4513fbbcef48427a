"""系统管理 › 统计期锁定与解锁: the lock settings in words, the form that unlocks one region
(and, if ticked, the regions below it) and one period with a reason and an expiry, the list of
unlocks with their state, and revoking one. Everything is asked of
pipelines/workflow/period_locks.py (which refuses, in Chinese, what an admin may not do);
access: security.CALLBACK_RULES ("admin-") — admins only.
"""
from __future__ import annotations

import datetime as dt

import flask
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from pipelines import db
from pipelines.accounts import users as accounts
from pipelines.returns import outliers
from pipelines.workflow import period_locks, warning_answers

UNLOCK_REGION = "admin-unlock-region"
UNLOCK_PERIOD = "admin-unlock-period"
UNLOCK_SUBTREE = "admin-unlock-subtree"
UNLOCK_REASON = "admin-unlock-reason"
UNLOCK_EXPIRES = "admin-unlock-expires"
UNLOCK_GO = "admin-unlock-go"
UNLOCK_OUTCOME = "admin-unlock-outcome"
UNLOCK_LIST = "admin-unlock-list"
UNLOCK_PICK = "admin-unlock-pick"
UNLOCK_REVOKE = "admin-unlock-revoke"


def _store():
    return flask.current_app.extensions["ybjc_store"]


def _user():
    return flask.g.get("ybjc_user")


def _settings_text(cfg: dict) -> str:
    parts = [f"{f}报表截止日后 {days} 天锁定" if days is not None else f"{f}报表不锁定"
             for f, (_, days) in cfg.items()]
    return ("；".join(parts) + "。锁定后修改该期数据（网页、接口、命令行报送）将被拒收，须由管理员为该地区该期解锁；"
            "锁定天数由系统管理员在系统设置中调整。")


def _answer_text(required: set[str], outlier: tuple[float, int]) -> str:
    kinds = "、".join(label for kind, label in warning_answers.KINDS.items() if kind in required)
    return (f"报送警告：{'须先填写说明才能提交的警告为' + kinds if kinds else '各类警告均可不填说明直接提交'}"
            f"；离群值按修正 z 分数判定，阈值 {outlier[0]:g}，样本至少 {outlier[1]} 期或 {outlier[1]} 个地区"
            f"（均可由系统管理员在系统设置中调整）。")


def unlocks_table(items, now=None) -> html.Table:
    now = now or dt.datetime.now()
    head = ("编号", "地区", "统计期", "原因", "有效期至", "状态", "解锁人", "解锁时间")
    rows = [html.Tr([html.Td(f"#{u.unlock_id}"), html.Td(u.scope_text()), html.Td(u.period_label),
                     html.Td(u.reason, className="unlock-reason"), html.Td(f"{u.expires_at:%Y-%m-%d %H:%M}"),
                     html.Td(u.state(now) + (f"（{u.revoked_by}）" if u.revoked_by else "")),
                     html.Td(u.granted_by), html.Td(f"{u.granted_at:%Y-%m-%d %H:%M}")]) for u in items]
    if not rows:
        rows = [html.Tr(html.Td("暂无解锁记录", colSpan=len(head)))]
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
                      className="data-table", id="admin-unlocks")


def _revocable(items, now=None) -> list[dict]:
    now = now or dt.datetime.now()
    return [{"label": f"#{u.unlock_id} {u.scope_text()} {u.period_label}（至 {u.expires_at:%m-%d %H:%M}）",
             "value": u.unlock_id} for u in items if u.state(now) == "生效中"]


def unlock_section(rendering: bool) -> html.Section:
    user = _user()
    cfg, items, regions, answers_text = {}, [], [], ""
    if rendering:
        def read(con):
            allowed = None if user is None or user.region_code is None else db.subtree(con, user.region_code)
            choices = [(c, n, d) for c, n, d in accounts.region_choices(con) if allowed is None or c in allowed]
            return (period_locks.settings(con), period_locks.unlocks(con), choices,
                    _answer_text(warning_answers.required_kinds(con), outliers.settings(con)))
        cfg, items, regions, answers_text = _store().read(read)
    options = [{"label": ("　" * depth) + f"{name}（{code}）", "value": code} for code, name, depth in regions]
    default_expiry = (dt.datetime.now() + dt.timedelta(days=3)).replace(hour=18, minute=0, second=0, microsecond=0)
    return html.Section(id="admin-unlock", children=[
        html.H2("统计期锁定与解锁"),
        html.P(_settings_text(cfg) if cfg else "", className="note", id="admin-unlock-settings"),
        html.P(answers_text, className="note", id="admin-answer-settings"),
        html.Div(className="controls", children=[
            html.Label(["地区", dcc.Dropdown(id=UNLOCK_REGION, options=options,
                                           value=options[0]["value"] if options else None, clearable=False)],
                       className="control"),
            html.Label(["统计期", dcc.Input(id=UNLOCK_PERIOD, type="text", placeholder="如 2024-03、2024Q1、2024")],
                       className="control"),
            html.Label(["有效期至", dcc.Input(id=UNLOCK_EXPIRES, type="text",
                                            value=f"{default_expiry:%Y-%m-%d %H:%M}")], className="control"),
            dcc.Checklist(id=UNLOCK_SUBTREE, options=[{"label": "含下级地区", "value": "yes"}], value=[]),
        ]),
        html.Label(["解锁原因（必填，最多 %d 字）" % period_locks.MAX_REASON,
                    dcc.Textarea(id=UNLOCK_REASON, style={"width": "100%", "height": "64px"},
                                 placeholder="如：蕉城区3月分母录入错误，需更正")], className="control unlock-reason-box"),
        html.Button("解锁", id=UNLOCK_GO, n_clicks=0, className="button primary"),
        html.Div(id=UNLOCK_OUTCOME),
        html.H3("解锁记录"),
        html.Div(id=UNLOCK_LIST, className="table-scroll", children=unlocks_table(items) if rendering else None),
        html.Div(className="controls", children=[
            html.Label(["撤销生效中的解锁", dcc.Dropdown(id=UNLOCK_PICK, options=_revocable(items))],
                       className="control"),
            html.Button("撤销", id=UNLOCK_REVOKE, n_clicks=0, className="button"),
        ]),
    ])


@callback(Output(UNLOCK_OUTCOME, "children"), Output(UNLOCK_LIST, "children"), Output(UNLOCK_PICK, "options"),
          Input(UNLOCK_GO, "n_clicks"), Input(UNLOCK_REVOKE, "n_clicks"),
          State(UNLOCK_REGION, "value"), State(UNLOCK_PERIOD, "value"), State(UNLOCK_SUBTREE, "value"),
          State(UNLOCK_REASON, "value"), State(UNLOCK_EXPIRES, "value"), State(UNLOCK_PICK, "value"),
          prevent_initial_call=True)
def _unlock(go, revoke, region, period, subtree, reason, expires, pick):
    user = _user()
    if ctx.triggered_id == UNLOCK_REVOKE:
        if not revoke:
            return no_update, no_update, no_update
        if not pick:
            return html.P("请先选择要撤销的解锁记录。", className="upload-rejected", id="admin-unlock-error"), \
                no_update, no_update
        act = (lambda con: period_locks.revoke(con, user, pick))
        done = "已撤销解锁 #{id}：{scope} {period}，即时生效，已记入审计日志。"
    else:
        if not go:
            return no_update, no_update, no_update
        act = (lambda con: period_locks.unlock(con, user, region, period, reason, expires,
                                               subtree="yes" in (subtree or [])))
        done = ("已解锁 #{id}：{scope} {period}，有效期至 {until}；在此之前该地区该期可重新报送，"
                "到期后自动恢复锁定。已记入审计日志。")
    try:
        item = _store().write(act, data_changed=False)
    except period_locks.LockError as exc:
        return html.P(f"未完成：{exc}", className="upload-rejected", id="admin-unlock-error"), no_update, no_update
    items = _store().read(period_locks.unlocks)
    text = done.format(id=item.unlock_id, scope=item.scope_text(), period=item.period_label,
                       until=f"{item.expires_at:%Y-%m-%d %H:%M}")
    return html.P(text, className="upload-accepted", id="admin-unlock-done"), unlocks_table(items), _revocable(items)
