"""HTTP API of period unlocks (pipelines/workflow/period_locks.py).

`GET /api/unlocks` — every unlock, newest first: {"status": "ok", "lock_days": {"月度": 30 | null,
…}, "unlocks": [{unlock_id, region_code, region_name, period, period_label, subtree, reason,
expires_at, granted_by, granted_at, revoked_at, revoked_by, state 生效中|已过期|已撤销}]}; for
admins (Bearer token or a logged-in session).

`POST /api/unlocks` — grant one, with an admin's Bearer token (a session is not enough: the
API takes no CSRF token). JSON or form fields: region (code or name), period (2024-03, 2024Q1,
2024…), reason (≤ 500 characters), expires_at (2026-12-10T18:00; in the future, ≤ 90 days),
subtree (true: the regions below too). 201 {"status": "ok", "unlock": {...}}; refusals are
dashboards.errors.json_error: 401 no token, 403 not an admin or outside the admin's region,
400 unreadable period or expiry, 404 unknown region, 422 missing or too long a reason, an
expiry in the past; 409 when no period locks at all. Nothing is changed by a refusal.

`POST /api/unlocks/<id>/revoke` — end an unlock now (admin token), 200 {"status": "ok", "unlock"}.
"""
from __future__ import annotations

import flask

from pipelines import db
from pipelines.workflow import period_locks

from .api import bearer_user, reader
from .errors import json_error

bp = flask.Blueprint("ybjc_api_locks", __name__)


def _store():
    return flask.current_app.extensions["ybjc_store"]


def _denied(store, user, what: str):
    store.write(lambda con: db.audit(con, user.name, "period.unlock", None, "denied",
                                     {"channel": "api", "role": user.role, "what": what}), data_changed=False)
    return json_error(403, f"账户 {user.name}（{user.role_label}）无权{what}：解锁须由管理员操作，请联系管理员")


@bp.get("/api/unlocks")
def list_unlocks():
    store = _store()
    user = reader(store)
    if user is None:
        return json_error(401, "请提供管理员的 API 令牌（Authorization: Bearer <令牌>）或先登录")
    if user.role != "admin":
        return json_error(403, f"账户 {user.name}（{user.role_label}）无权查看解锁记录，需要管理员权限")

    def read(con):
        cfg = period_locks.settings(con)
        return {f: days for f, (_, days) in cfg.items()}, [u.as_dict() for u in period_locks.unlocks(con)]
    days, items = store.read(read)
    return flask.jsonify({"status": "ok", "lock_days": days, "unlocks": items})


def _fields() -> dict:
    body = flask.request.get_json(silent=True)
    if not isinstance(body, dict):
        body = flask.request.form.to_dict()
    return body


@bp.post("/api/unlocks")
def grant_unlock():
    store = _store()
    user = bearer_user(store)
    if user is None:
        return json_error(401, "缺少或无效的 API 令牌：请在请求头 Authorization: Bearer <令牌> 中提供管理员的令牌")
    if user.role != "admin":
        return _denied(store, user, "解锁统计期")
    f = _fields()
    subtree = str(f.get("subtree", "")).strip().lower() in ("1", "true", "yes", "on", "是")
    try:
        item = store.write(lambda con: period_locks.unlock(con, user, f.get("region"), f.get("period"),
                                                           f.get("reason"), f.get("expires_at"), subtree=subtree),
                           data_changed=False)
    except period_locks.LockError as exc:
        return json_error(exc.status, str(exc))
    return flask.jsonify({"status": "ok", "unlock": item.as_dict()}), 201


@bp.post("/api/unlocks/<int:unlock_id>/revoke")
def revoke_unlock(unlock_id: int):
    store = _store()
    user = bearer_user(store)
    if user is None:
        return json_error(401, "缺少或无效的 API 令牌：请在请求头 Authorization: Bearer <令牌> 中提供管理员的令牌")
    if user.role != "admin":
        return _denied(store, user, "撤销解锁")
    try:
        item = store.write(lambda con: period_locks.revoke(con, user, unlock_id), data_changed=False)
    except period_locks.LockError as exc:
        return json_error(exc.status, str(exc))
    return flask.jsonify({"status": "ok", "unlock": item.as_dict()})
