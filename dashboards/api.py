"""HTTP API: `POST /api/returns` — submit a return; `GET /api/gaps` — read the gap table.

`GET /api/gaps?period=2024Q2[&region=R][&basis=period|ytd][&as_of=2024-07-20T15:00:00]` answers
{"status": "ok", "period", "region", "basis", "as_of", "columns": [...], "records": [...]} —
the rows and columns of `python -m pipelines gaps --format json` (DESIGN "Command line": the
eight statuses, figure_period, judged_on, reporters …), from the same Metrics call. Readers
authenticate with a Bearer token or their logged-in session (open while no account exists, as
the dashboards are); a wrong parameter is 400 with {"status": "rejected", "errors": [...]}.

`GET /api/reporting-rate?region=R&year=2024[&frequency=月度][&as_of=…]` answers
{"status": "ok", "jurisdiction", "year", "frequency", "as_of", "total", "regions", "periods"} —
the 报送率 summary of pipelines.metrics.reporting_rate (owed, received, on_time, late, missing,
not_due, early; completeness, timeliness, late_rate, missing_rate in %), same auth and errors.

`GET /api/v1/reviews` — the caller's review queue (审核): the accepted submissions still 待审核
in its scope, oldest first, each with file, uploader, time, regions and periods (codes and
names), warnings and its values beside those they replace: {"status": "ok", "count", "reviews":
[...]}. Token or session; 401 without, 403 for a viewer or a reporter with no region below it.

`POST /api/v1/submissions/<id>/review` — decide one: JSON {"decision": "approve" | "reject",
"comment": "…"} (退回 needs a comment, at most 500 characters), Bearer token only (like
/api/returns: no ambient credential may decide). 200 {"status": "ok", "review": {...}}; refusals
through json_error with review.ReviewError's status: 400 bad decision or body, 403 role or scope,
404 unknown submission, 409 already decided, 422 a rejected file or a bad comment — nothing
changed then. Every decision is in the audit log.

`POST /api/returns` — submit a return with a Bearer token (multipart field `file`).

Answers JSON {"status": "accepted" | "rejected" | "denied", "rows": n, "errors": [...],
"warnings": [...], "duplicate": bool, "new", "revisions", "file_name", "content_hash",
"submission_id"} ("sheet!cell: message" strings in errors and warnings):
200 accepted (warning-only files too; a file already loaded is accepted again with
duplicate = true and rows = its rows), 422 rejected for its content, 401 without a valid token,
403 when the user's role or region scope does not cover every row (the file is refused whole),
400 when the request has no file, 413 when it is too large.
"""
from __future__ import annotations

import re
from pathlib import Path

import flask

from pipelines.accounts import users as accounts
from pipelines import db

from .errors import json_error

bp = flask.Blueprint("ybjc_api", __name__)


def _store():
    return flask.current_app.extensions["ybjc_store"]


def _error(status: int, message: str):
    return json_error(status, message, rows=0, warnings=[])


def safe_file_name(name: str | None) -> str:
    """The uploaded name without directories or control characters (kept for lineage)."""
    name = Path(str(name or "upload.xlsx").replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f<>:\"|?*]", "_", name).strip(" .")
    return name[:150] or "upload.xlsx"


def outcome_json(outcome) -> dict:
    return {"status": "accepted" if outcome.status in ("accepted", "duplicate") else "rejected",
            "duplicate": outcome.status == "duplicate",
            "rows": int(outcome.rows or 0),
            "new": int(outcome.new or 0), "revisions": int(outcome.revisions or 0),
            "errors": [str(e) for e in outcome.errors],
            "warnings": [str(w) for w in outcome.warnings],
            "file_name": outcome.file_name, "content_hash": outcome.content_hash,
            "submission_id": outcome.submission_id}


def bearer_user(store):
    """The user of the request's API token (Authorization: Bearer …), or None."""
    header = flask.request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    return store.read(lambda con: accounts.user_for_token(con, token)) if token else None


def reader(store):
    """The user reading the API (token, else session), or None."""
    header = flask.request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return bearer_user(store)
    gate = flask.current_app.extensions.get("ybjc_gate")
    return gate.session_user() if gate is not None else None


@bp.get("/api/gaps")
def get_gaps():
    from pipelines.metrics.export import CLI_COLUMNS, GapsUsageError, gap_records, parse_as_of

    from .store import open_metrics
    store = _store()
    if store.read(accounts.count_users) > 0 and reader(store) is None:
        return _error(401, "请提供 API 令牌（Authorization: Bearer <令牌>）或先登录后再读取")
    args = flask.request.args
    period = (args.get("period") or "").strip()
    if not period:
        return _error(400, "缺少参数 period：请写成如 ?period=2024Q2（也可用 2024-06、2024）")
    basis = args.get("basis", "period")
    if basis not in ("period", "ytd"):
        return _error(400, f"参数 basis “{basis}” 无效：应为 period（当期）或 ytd（累计）")
    region = args.get("region") or None
    try:
        as_of = parse_as_of(args.get("as_of"))
        with open_metrics(as_of) as m:
            records = gap_records(m, period, region, basis)
    except GapsUsageError as exc:
        return _error(400, str(exc))
    return flask.jsonify({"status": "ok", "period": period, "region": region, "basis": basis,
                          "as_of": as_of.isoformat() if as_of else None, "columns": CLI_COLUMNS,
                          "records": records})


@bp.get("/api/reporting-rate")
def get_reporting_rate():
    from pipelines.metrics.export import GapsUsageError, parse_as_of
    from pipelines.metrics.reporting_rate import RateUsageError, checked_args

    from .store import open_metrics
    store = _store()
    if store.read(accounts.count_users) > 0 and reader(store) is None:
        return _error(401, "请提供 API 令牌（Authorization: Bearer <令牌>）或先登录后再读取")
    args = flask.request.args
    region, year = (args.get("region") or "").strip(), (args.get("year") or "").strip()
    if not region or not year:
        return _error(400, "缺少参数 region 或 year：请写成如 ?region=350900&year=2024（可加 &frequency=季度）")
    try:
        as_of = parse_as_of(args.get("as_of"))
        with open_metrics(as_of) as m:
            code, yr, freq = checked_args(m, region, year, args.get("frequency") or "月度")
            body = m.reporting_rate(code, yr, freq).as_json()
    except (GapsUsageError, RateUsageError) as exc:
        return _error(400, str(exc))
    return flask.jsonify({"status": "ok", **body})


@bp.get("/api/v1/reviews")
def get_reviews():
    from pipelines.workflow import review
    store = _store()
    user = reader(store)
    if user is None:
        return json_error(401, "请提供 API 令牌（Authorization: Bearer <令牌>）或先登录后再读取审核队列")
    scope = store.read(lambda con: review.reviewable_regions(con, user))
    if scope is not None and not scope:
        why = ("查看者账户不能审核" if user.role == "viewer" else
               f"账户地区 {user.region_code} 没有下级地区，本单位的报送由上级单位审核")
        return json_error(403, f"账户 {user.name}（{user.role_label}）无审核权限：{why}")
    items = store.read(lambda con: [review.describe(con, s) for s in review.pending(con, user)])
    return flask.jsonify({"status": "ok", "count": len(items), "reviews": items})


@bp.post("/api/v1/submissions/<submission_id>/review")
def post_review(submission_id):
    from pipelines.workflow import review
    store = _store()
    user = bearer_user(store)
    if user is None:
        return json_error(401, "缺少或无效的 API 令牌：审核须在请求头 Authorization: Bearer <令牌> 中提供令牌")
    body = flask.request.get_json(silent=True)
    if not isinstance(body, dict):
        return json_error(400, "请求体应为 JSON 对象，如 {\"decision\": \"approve\", \"comment\": \"…\"}"
                               "（decision 为 approve 通过或 reject 退回）")
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        return json_error(400, "comment（审核意见）应为文字")
    decision = body.get("decision")
    try:
        sub = store.write(lambda con: review.decide(con, submission_id, user, str(decision or ""), comment))
    except review.ReviewError as exc:
        return json_error(exc.status, str(exc))
    store.refresh_soon()
    return flask.jsonify({"status": "ok", "review": store.read(
        lambda con: review.describe(con, sub, with_values=False))})


@bp.post("/api/returns")
def post_return():
    header = flask.request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    store = _store()
    user = store.read(lambda con: accounts.user_for_token(con, token)) if token else None
    if user is None:
        return _error(401, "缺少或无效的 API 令牌：请在请求头 Authorization: Bearer <令牌> 中提供，"
                           "令牌可由管理员用 python -m pipelines users token --name 用户名 签发")
    if not accounts.can_submit(user):
        store.read(lambda con: db.audit(con, user.name, "upload", None, "denied",
                                       {"channel": "api", "reason": "role", "role": user.role}))
        return _error(403, f"账户 {user.name}（{user.role_label}）无报送权限，需要填报员或管理员账户")
    upload = flask.request.files.get("file")
    if upload is None or not upload.filename:
        return _error(400, "请求中没有文件：请用 multipart/form-data 的 file 字段上传 .xlsx 报表")
    allowed = store.read(lambda con: accounts.allowed_regions(con, user))
    item = (safe_file_name(upload.filename), upload.read())
    outcome = store.ingest([item], user=user.name, channel="api", allowed_regions=allowed)[0]
    body = outcome_json(outcome)
    if outcome.scope_violation:        # refused whole (ingest recorded and audited it)
        body["status"] = "denied"
        return flask.jsonify(body), 403
    return flask.jsonify(body), 200 if body["status"] == "accepted" else 422
