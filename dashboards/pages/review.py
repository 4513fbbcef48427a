"""数据审核 (review): the reviewer's queue of accepted submissions still 待审核 in its scope,
oldest first — each with its file, uploader, time, regions and periods by name, its warnings
and its values beside the values they replace — and 通过 / 退回 with a comment (退回 needs
one). Decisions go through `store.write` (pipelines/workflow/review.decide: one transaction
with its audit line and the figures it makes stale) and the figures table refreshes after.

Reviewers: admins, and reporters of a level with regions below it (review.reviewable_regions);
viewers are refused by the server (security.PATH_RULES "/review", CALLBACK_RULES "review-").
A refusal (ReviewError) is shown as a message; nothing changes then.
"""
from __future__ import annotations

import dash
import flask
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from pipelines.workflow import review

REVIEW_MESSAGE = "review-message"
REVIEW_QUEUE = "review-queue"
REVIEW_SCOPE = "review-scope"
REVIEW_APPROVE = "review-approve"          # pattern-matching types: {"type": ..., "sid": n}
REVIEW_RETURN = "review-return"
REVIEW_COMMENT = "review-comment"

dash.register_page(__name__, path="/review", name="数据审核", title="数据审核 · 医保便民服务指标监测",
                   order=11)


def _user():
    return flask.g.get("ybjc_user")


def _store():
    return flask.current_app.extensions["ybjc_store"]


def layout(rendering=None, **params):
    user = _user()
    body = [html.H1("数据审核", className="page-title")]
    if rendering is None:
        return _page(body + [html.Div(id=REVIEW_MESSAGE), html.Div(id=REVIEW_QUEUE)])
    scope = _store().read(lambda con: review.reviewable_regions(con, user))
    if scope is not None and not scope:
        return _page(body + [html.P(_no_scope(user), className="empty-title", id=REVIEW_SCOPE),
                             html.Div(id=REVIEW_MESSAGE), html.Div(id=REVIEW_QUEUE)])
    return _page(body + [
        html.P(_scope_text(user), className="note", id=REVIEW_SCOPE),
        html.Div(id=REVIEW_MESSAGE, role="status", **{"aria-live": "polite"}),
        html.Div(queue(user), id=REVIEW_QUEUE)])


def _page(children) -> html.Div:
    return html.Div(className="page page-review", children=[html.Main(className="page-body", children=children)])


def _no_scope(user) -> str:
    if user is None or user.role == "viewer":
        return "当前账户没有审核权限：审核须由上级单位的填报员或管理员进行。"
    return (f"当前账户（{user.name}，地区 {user.region_code}）没有下级地区，无需审核；"
            "本单位的报送由上级单位审核。")


def _scope_text(user) -> str:
    if user.role == "admin":
        return "管理员可审核全部地区的报送。待审核的报送按上传时间排列，最早的在前；通过后数据即为已审核，退回须写明原因。"
    from pipelines.catalog.names import region_names
    name = _store().read(lambda con: region_names(con).name.get(user.region_code, user.region_code))
    return (f"您可审核{name}下级地区的报送。待审核的报送按上传时间排列，最早的在前；"
            "通过后数据即为已审核，退回须写明原因，报送人会在报送页面和下次登录时看到。")


def queue(user) -> list:
    """One card per pending submission in the user's scope (review.pending), oldest first."""
    items = _store().read(lambda con: [review.describe(con, s) for s in review.pending(con, user)])
    if not items:
        return [html.P("目前没有待审核的报送。", className="empty-title", id="review-empty")]
    return [html.P(f"待审核 {len(items)} 份", className="review-count", id="review-count")] + \
        [_card(item) for item in items]


def _num(v) -> str:
    if v is None:
        return "—"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _card(item: dict) -> html.Section:
    sid = item["submission_id"]
    facts = [("报送编号", f"#{sid}"), ("报送人", item["uploaded_by"]),
             ("上传时间", (item["uploaded_at"] or "").replace("T", " ")),
             ("地区", "、".join(item["region_names"]) or "—"),
             ("统计期", "、".join(item["period_labels"]) or "—")]
    parts = [html.H2(item["file_name"], className="review-file"),
             html.Dl([c for k, v in facts for c in (html.Dt(k), html.Dd(v))], className="review-facts")]
    if item.get("corrects_id"):
        why = item.get("corrects_comment")
        parts.append(html.P(f"更正了被退回的报送 #{item['corrects_id']}" + (f"（退回意见：{why}）" if why else ""),
                            className="review-corrects"))
    if item["warnings"]:
        parts.append(html.Div(className="review-warnings", children=[
            html.H3(f"校验警告（{len(item['warnings'])} 条）"),
            html.Ul([html.Li(w) for w in item["warnings"]])]))
    else:
        parts.append(html.P("校验无警告。", className="note"))
    parts.append(_values(item))
    parts.append(html.Div(className="review-actions", children=[
        html.Label(["审核意见（退回时必填，最多 500 字）",
                    dcc.Textarea(id={"type": REVIEW_COMMENT, "sid": sid}, className="review-comment",
                                 maxLength=review.MAX_COMMENT, placeholder="如：门诊结算人次与上月差距过大，请核实后重新报送")]),
        html.Div([html.Button("通过", id={"type": REVIEW_APPROVE, "sid": sid}, n_clicks=0,
                              className="button primary review-approve"),
                  html.Button("退回", id={"type": REVIEW_RETURN, "sid": sid}, n_clicks=0,
                              className="button review-return")], className="review-buttons")]))
    return html.Section(parts, className="review-card upload-step", id=f"review-card-{sid}")


def _values(item: dict) -> html.Div:
    rows = []
    for v in item["values"]:
        cls = "review-changed" if v["changed"] else ("review-new" if v["old_numerator"] is None else None)
        rows.append(html.Tr([
            html.Td(v["region"]), html.Td(v["indicator"]), html.Td(v["period_label"]),
            html.Td(_num(v["numerator"])), html.Td(_num(v["denominator"])),
            html.Td("新增" if v["old_numerator"] is None else
                    f"{_num(v['old_numerator'])} / {_num(v['old_denominator'])}（报送 #{v['old_submission_id']}）")],
            className=cls))
    head = html.Thead(html.Tr([html.Th(h) for h in ("地区", "指标", "统计期", "分子", "分母", "替换的原数据")]))
    note = f"本文件有 {len(item['values'])} 条新增或更正的数据"
    if item.get("unchanged"):
        note += f"，另有 {item['unchanged']} 条与已有数据相同（未改动）"
    return html.Div(className="review-values", children=[
        html.P(note + "。", className="note"),
        html.Div(html.Table([head, html.Tbody(rows)], className="data-table review-table"),
                 className="owed-scroll")])


@callback(Output(REVIEW_MESSAGE, "children"), Output(REVIEW_QUEUE, "children"),
          Input({"type": REVIEW_APPROVE, "sid": ALL}, "n_clicks"),
          Input({"type": REVIEW_RETURN, "sid": ALL}, "n_clicks"),
          State({"type": REVIEW_COMMENT, "sid": ALL}, "value"),
          State({"type": REVIEW_COMMENT, "sid": ALL}, "id"),
          prevent_initial_call=True)
def _decide(approve_clicks, return_clicks, comments, comment_ids):
    trigger = ctx.triggered_id
    clicked = (ctx.triggered or [{}])[0].get("value")
    if not isinstance(trigger, dict) or not clicked:      # new cards rendered, not a click
        return no_update, no_update
    sid = trigger["sid"]
    decision = "approve" if trigger["type"] == REVIEW_APPROVE else "reject"
    comment = next((c for c, i in zip(comments, comment_ids) if i["sid"] == sid), None)
    message, changed = decide_and_say(_user(), sid, decision, comment)
    return message, queue(_user()) if changed else no_update


def decide_and_say(user, sid, decision: str, comment) -> tuple[html.P, bool]:
    """Decide through the store's write path (caches cleared, figures refreshed after) and say
    what happened, in Chinese; a refusal changes nothing and says why. (message, queue changed)"""
    store = _store()
    try:
        sub = store.write(lambda con: review.decide(con, sid, user, decision, comment))
    except review.ReviewError as exc:
        return (html.P(str(exc), className="upload-rejected review-refused", id="review-refused", role="alert"),
                exc.status in (404, 409))
    store.refresh_soon()
    word = "通过" if sub.state == "approved" else "退回"
    text = f"已{word}报送 #{sub.submission_id}（{sub.file_name}，{sub.uploaded_by} 报送）"
    text += f"；意见：{sub.comment}" if sub.comment else ""
    return html.P(text + "。", className="upload-accepted review-done", id="review-done"), True
