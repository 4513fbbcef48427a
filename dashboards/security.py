"""Who may do what on the web: login, signed sessions, CSRF, security headers, role checks.

`install_security(app, warehouse)` hooks it all into the Dash app's Flask server:
- /login, /logout (Chinese pages), signed expiring sessions (secret kept in the warehouse's
  settings table, 8 h lifetime), login throttling (5 failures per user+IP, 20 per address, 20
  per account → 15 min lock; checked and recorded under one lock);
- a per-session CSRF token checked on every state-changing request, Dash callbacks included:
  it is kept in the cookie Dash's renderer reads (`_csrf_token`), which sends it back as the
  X-CSRFToken header with every callback by itself; forms carry it as a hidden field;
- the account bar goes into Dash's page through `interpolate_index` (Dash's own hook), and the
  CSP's script hashes are Dash's `csp_hashes()`, computed once for the app;
- security headers (CSP without external hosts, X-Frame-Options, nosniff, Referrer-Policy);
- a server-side role check in before_request for every route, page path and Dash callback
  (`PATH_RULES`, `CALLBACK_RULES`: data, not code);
- read-only anonymous browsing while the warehouse has no user at all (with a banner);
- behind reverse proxies (YBJC_PROXY_HOPS = their number) werkzeug's ProxyFix takes the
  client's address from X-Forwarded-For; without the setting that header is ignored.
The state lives on one `Gate` object per app (server.extensions["ybjc_gate"]).
"""
from __future__ import annotations

import datetime as dt
import hmac
import json
import os
import secrets
import threading
import time
from urllib.parse import quote

import flask

from pipelines.accounts import users as accounts

SESSION_HOURS = 8
MAX_UPLOAD_BYTES = 30 * 1024 * 1024      # a 20 MB return, base64-encoded in a Dash callback
CSRF_HEADER = "X-CSRFToken"
CSRF_COOKIE = "_csrf_token"          # the name dash-renderer reads (its csrf_token_name)

# Access levels, in order; a role grants its level and those below it.
LEVELS = {"public": 0, "read": 1, "submit": 2, "admin": 3}
ROLE_LEVEL = {"viewer": 1, "reporter": 2, "admin": 3}

# Every route and page declares its level here (a test walks the Flask URL map and Dash's page
# registry against it). (path prefix, level) — first match wins; a prefix ending in "/" covers
# what is under it, another covers itself and its sub-paths. A path no rule names (a mistyped
# page URL: Dash answers with its 404 page) needs "read".
PATH_RULES: tuple[tuple[str, str], ...] = (
    ("/login", "public"),
    ("/password", "read"),                # a logged-in user's own password (forced change too)
    ("/logout", "read"),
    ("/assets/", "public"),
    ("/_dash-component-suites/", "public"),
    ("/_favicon.ico", "public"),
    ("/favicon.ico", "public"),
    ("/_alive", "public"),                # the browser's check that the server is there (204)
    ("/static/", "public"),               # Flask's static folder (the app keeps its files in assets/)
    ("/api/", "public"),                 # the API authenticates by Bearer token itself
    ("/_dash-layout", "read"),
    ("/_dash-dependencies", "read"),
    ("/_dash-update-component", "read"),  # and each callback's own level: CALLBACK_RULES
    ("/_reload-hash", "read"),
    ("/upload", "submit"),
    ("/review", "submit"),                # reporters with regions below them, admins (review.py)
    ("/download/template", "submit"),
    ("/download/archive/", "submit"),     # an original file behind a figure (scope checked there)
    ("/admin", "admin"),
    ("/indicator", "read"),
    ("/district", "read"),
    ("/submissions", "read"),
    ("/targets", "read"),
    ("/404", "read"),                     # the page for an unknown address (pages/not_found_404)
    ("/", "read"),                        # the overview (exact: "/" is not a prefix here)
)
# (Dash output component-id prefix, level): a callback needs the highest level of its outputs.
# Every callback's outputs must be declared here: one that is not needs "admin" (fails closed),
# and the callback-map walk test names it.
CALLBACK_RULES: tuple[tuple[str, str], ...] = (
    ("upload-", "submit"),
    ("review-", "submit"),                # decisions: review.decide checks role and scope itself
    ("admin-", "admin"),
    ("overview-", "read"),
    ("indicator-", "read"),
    ("district-", "read"),
    ("submissions-", "read"),
    ("targets-", "read"),
    ("prov-", "read"),                    # the provenance panel of every page
    ("nav", "read"),
    ("shell-", "read"),
    ("_pages_", "read"),                  # Dash's page router (the page's own level: PATH_RULES)
)
CSRF_EXEMPT = ("/api/",)
# What a user who must change its password may still reach (everything else sends it there).
MUST_CHANGE_OPEN = ("/password", "/logout")                 # Bearer tokens are not ambient credentials
PAGES_CONTENT_ID = "_pages_content"
PAGES_LOCATION_ID = "_pages_location"

CSP = ("default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
       "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")


def path_rule(path: str) -> tuple[str, str] | None:
    """The PATH_RULES entry that declares `path`, or None."""
    for prefix, level in PATH_RULES:
        if prefix == "/":
            if path == "/":
                return prefix, level
        elif prefix.endswith("/") and path.startswith(prefix):
            return prefix, level
        elif path == prefix or path.startswith(prefix + "/"):
            return prefix, level
    return None


def path_level(path: str) -> str:
    rule = path_rule(path)
    return rule[1] if rule else "read"


def user_level(user, has_users: bool = True) -> int:
    """The access level (LEVELS) of a requester: its role's, "read" while the warehouse has no
    user at all (read-only browsing), "public" when anonymous."""
    if user is None:
        return LEVELS["read"] if not has_users else LEVELS["public"]
    return ROLE_LEVEL.get(user.role, 0)


def may_open(path: str, user, has_users: bool = True) -> bool:
    """Whether `user` may open the page at `path` (its PATH_RULES level): what links are shown."""
    return user_level(user, has_users) >= LEVELS[path_level(path)]


def request_may_open(path: str) -> bool:
    """may_open for the user of the current request (navigation built inside a callback)."""
    return may_open(path, flask.g.get("ybjc_user"), flask.g.get("ybjc_has_users", True))


def callback_rule(component_id: str) -> tuple[str, str] | None:
    """The CALLBACK_RULES entry that declares an output component, or None."""
    for prefix, level in CALLBACK_RULES:
        if component_id.startswith(prefix):
            return prefix, level
    return None


def _component_id(cid) -> str:
    if isinstance(cid, dict):
        return str(cid.get("type") or json.dumps(cid, sort_keys=True))
    return str(cid)


def callback_level(body: dict) -> str:
    """The level a Dash callback request needs, from its outputs (and the page it renders)."""
    outputs = body.get("outputs")
    outputs = outputs if isinstance(outputs, list) else [outputs] if outputs else []
    flat = []
    for o in outputs:
        flat.extend(o if isinstance(o, list) else [o])
    ids = [_component_id(o.get("id")) for o in flat if isinstance(o, dict)]
    if not ids and isinstance(body.get("output"), str):
        ids = [part.split(".")[0] for part in body["output"].strip(".").split("...")]
    level = "read"
    for cid in ids:
        declared = callback_rule(cid)
        rule = declared[1] if declared else "admin"          # undeclared: fail closed
        if LEVELS[rule] > LEVELS[level]:
            level = rule
        if cid == PAGES_CONTENT_ID:
            for item in body.get("inputs") or []:
                if isinstance(item, dict) and item.get("id") == PAGES_LOCATION_ID \
                        and item.get("property") == "pathname":
                    page = path_level(str(item.get("value") or "/"))
                    if LEVELS[page] > LEVELS[level]:
                        level = page
    return level


class Gate:
    """The security state of one app: the warehouse store and the session secret."""

    def __init__(self, store, app=None):   # dashboards.store.Warehouse, the Dash app
        self.store = store
        self._login_lock = threading.Lock()   # one login attempt checked and recorded at a time
        self.app = app
        self._csp: str | None = None          # computed at the first answer (Dash set up by then)

    # -- who is asking ----------------------------------------------------------------------
    def session_user(self):
        name = flask.session.get("user")
        if not name:
            return None
        started = flask.session.get("t", 0)
        if time.time() - started > SESSION_HOURS * 3600:
            flask.session.clear()
            return None
        user = self.account(name)
        if user is None or user.disabled or flask.session.get("g") != user.session_gen:
            flask.session.clear()         # disabled, or its password changed since: ended
            return None
        return user

    def account(self, name: str):
        """The account `name` (None if there is none), asked at every request: answered from
        the store's cache until the next data-changing write — every change to an account (add,
        disable, enable, reset, a new password, and with it the session generation) is one."""
        return self.store.cache.get_or_compute(("account", name),
                                               lambda: self.store.read(lambda con: accounts.get_user(con, name)))

    def has_users(self) -> bool:
        """Whether any account exists (cached like `account`: adding one is a data-changing write)."""
        return self.store.cache.get_or_compute(("has_users",), lambda: self.store.read(accounts.count_users) > 0)

    def csrf_token(self) -> str:
        token = flask.session.get("csrf")
        if not token:
            token = secrets.token_urlsafe(32)
            flask.session["csrf"] = token
        return token

    def csrf_ok(self) -> bool:
        expected = flask.session.get("csrf")
        given = flask.request.headers.get(CSRF_HEADER) or flask.request.form.get("csrf_token", "")
        return bool(expected) and hmac.compare_digest(str(expected), str(given))

    # -- hooks ------------------------------------------------------------------------------
    def before_request(self):
        req = flask.request
        path = req.path
        level = path_level(path)
        if req.method not in ("GET", "HEAD", "OPTIONS") and not path.startswith(CSRF_EXEMPT):
            if not self.csrf_ok():
                return self._deny(403, "请求缺少有效的安全令牌（CSRF），请刷新页面后重试")
        if level == "public" and path != "/login":
            return None                   # static assets, the API (own auth)
        has_users = self.has_users()
        flask.g.ybjc_has_users = has_users
        flask.g.ybjc_user = self.session_user() if has_users else None
        if req.method == "POST" and path.endswith("/_dash-update-component"):
            body = req.get_json(silent=True) or {}
            level = max(level, callback_level(body), key=LEVELS.get)
        if level == "public":
            return None
        user = flask.g.ybjc_user
        if not has_users:
            if level == "read":
                return None
            return self._deny(403, "尚未创建账户，报送、接口和管理功能暂不开放；"
                                   "请先运行 python -m pipelines users add 创建管理员")
        if user is None:
            if req.method == "GET" and "application/json" not in req.headers.get("Accept", ""):
                return flask.redirect("/login?next=" + quote(req.full_path.rstrip("?")))
            return self._deny(401, "请先登录")
        if user.must_change and path not in MUST_CHANGE_OPEN:
            if req.method == "GET" and "application/json" not in req.headers.get("Accept", ""):
                return flask.redirect("/password?next=" + quote(req.full_path.rstrip("?")))
            return self._deny(403, "您的密码是初始密码或已被重置，请先在 /password 修改密码")
        if ROLE_LEVEL.get(user.role, 0) < LEVELS[level]:
            need = {"submit": "填报员或管理员", "admin": "管理员"}.get(level, "已登录用户")
            return self._deny(403, f"当前账户（{user.name}，{user.role_label}）无权访问此功能，需要{need}权限")
        return None

    def after_request(self, response):
        h = response.headers
        h["Content-Security-Policy"] = self.csp()
        h["X-Frame-Options"] = "DENY"
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "same-origin"
        if response.mimetype in ("text/html", "application/json"):
            h.setdefault("Cache-Control", "no-store")
        if flask.session.get("csrf") or response.mimetype == "text/html":
            response.set_cookie(CSRF_COOKIE, self.csrf_token(), samesite="Strict", httponly=False,
                                max_age=SESSION_HOURS * 3600, path="/")
        return response

    def csp(self) -> str:
        """The Content-Security-Policy: Dash's hashes of its inline scripts (the renderer's
        start and any clientside callbacks), computed once, after Dash has set itself up."""
        if self._csp is None:
            hashes = "".join(f" {h}" for h in self.app.csp_hashes()) if self.app is not None else ""
            self._csp = CSP.format(hashes=hashes)
        return self._csp

    def interpolate_index(self, interpolate):
        """Dash's `interpolate_index` with the account bar (or the no-users banner) first in
        the page body."""
        def with_account_bar(**kwargs):
            from .security_pages import account_bar
            user = flask.g.get("ybjc_user")
            scope = (self.store.read(lambda con: accounts.region_name(con, user.region_code))
                     if user is not None and user.region_code else None)
            bar = account_bar(user, flask.g.get("ybjc_has_users", True), self.csrf_token(), scope,
                              self.review_facts(user))
            return interpolate(**{**kwargs, "app_entry": bar + kwargs.get("app_entry", "")})
        return with_account_bar

    def review_facts(self, user) -> dict:
        """What the account bar says of review: may this user review (a link to /review, with
        the queue's length), and its own returned submissions not yet corrected (a notice at
        every page load until they are — the first page after a login included).

        Asked at every page load, answered from the store's cache until the data changes: every
        upload and review decision is a data-changing write, and the key holds what the answer
        depends on besides the data (the user's name, role and region)."""
        if user is None or user.role == "viewer":
            return {}
        from pipelines.workflow import review

        def read(con):
            scope = review.reviewable_regions(con, user)
            may = scope is None or bool(scope)
            return {"may_review": may, "pending": len(review.pending(con, user)) if may else 0,
                    "returned": [(s.submission_id, s.file_name, s.comment) for s in review.returned_to(con, user.name)]}
        return self.store.cache.get_or_compute(("review_facts", user.name, user.role, user.region_code),
                                               lambda: self.store.read(read))

    def _deny(self, status: int, message: str):
        wants_html = flask.request.method == "GET" and "text/html" in flask.request.headers.get("Accept", "")
        if wants_html:
            from .security_pages import message_page
            return flask.Response(message_page("无权访问" if status == 403 else "请先登录", message),
                                  status=status, mimetype="text/html")
        from .errors import json_error
        return json_error(status, message)

    # -- login / logout ---------------------------------------------------------------------
    def login(self):
        from .security_pages import login_page
        req = flask.request
        nxt = req.values.get("next") or "/"
        if not nxt.startswith("/") or nxt.startswith("//") or "\\" in nxt:
            nxt = "/"
        has_users = flask.g.get("ybjc_has_users", True)
        if req.method == "GET":
            return login_page(self.csrf_token(), nxt, None, has_users)
        name = (req.form.get("username") or "").strip()
        password = req.form.get("password") or ""
        ip = req.remote_addr or "?"

        def attempt(con):
            lock = accounts.login_lock(con, name, ip)
            if lock is not None:
                accounts.record_login(con, name, ip, False, "locked")
                return None, lock
            user = accounts.authenticate(con, name, password)
            accounts.record_login(con, name, ip, user is not None, None if user else "bad-password")
            return user, None

        with self._login_lock:             # check and record as one step: no attempt slips past a limit
            user, why = self.store.read(attempt)
        if user is None:
            msg = accounts.LOCK_MESSAGES.get(why, "用户名或密码错误，或账户已停用")
            return login_page(self.csrf_token(), nxt, msg, has_users), 429 if why else 401
        flask.session.clear()
        flask.session.permanent = True
        self._start_session(user)
        if nxt == "/" and user.role == "reporter":
            nxt = "/upload"                  # a reporter lands on what it owes and by when
        if user.must_change:
            return flask.redirect("/password?next=" + quote(nxt))
        return flask.redirect(nxt)

    def _start_session(self, user) -> None:
        flask.session["user"] = user.name
        flask.session["g"] = user.session_gen
        flask.session["t"] = time.time()
        flask.session["csrf"] = secrets.token_urlsafe(32)

    def password(self):
        """GET/POST /password — the logged-in user changes its own password (forced after an
        initial or reset password). Every other session of the user ends; this one is re-signed."""
        from .security_pages import password_page
        req = flask.request
        user = flask.g.get("ybjc_user")
        nxt = req.values.get("next") or "/"
        if not nxt.startswith("/") or nxt.startswith("//") or "\\" in nxt or nxt.startswith("/password"):
            nxt = "/"
        if user is None:
            return flask.redirect("/login?next=/password")
        if req.method == "GET":
            return password_page(self.csrf_token(), nxt, user, None)
        old, new, again = (req.form.get(k) or "" for k in ("old_password", "new_password", "new_again"))
        if new != again:
            return password_page(self.csrf_token(), nxt, user, "两次输入的新密码不一致，请重新输入"), 400
        try:
            fresh = self.store.write(lambda con: accounts.change_own_password(con, user.name, old, new))
        except accounts.AccountError as exc:
            return password_page(self.csrf_token(), nxt, user, str(exc)), 400
        self._start_session(fresh)
        return flask.redirect(nxt)

    def logout(self):
        from .security_pages import message_page
        if flask.request.method == "POST":
            flask.session.clear()
            return flask.redirect("/login")
        return message_page("退出登录", "确认退出当前账户？", logout_csrf=self.csrf_token())


def gate() -> Gate:
    return flask.current_app.extensions["ybjc_gate"]


def current_user():
    """The logged-in user of this request (None when anonymous)."""
    return flask.g.get("ybjc_user")


PROXY_HOPS_ENV = "YBJC_PROXY_HOPS"


class SettingError(ValueError):
    """A server setting (environment variable) with an impossible value; Chinese message."""


def proxy_hops(environ=None) -> int:
    """How many reverse proxies stand in front of the server (YBJC_PROXY_HOPS; 0 = none, the
    default). Only then are X-Forwarded-For / -Proto believed — as many hops as configured, so
    a client cannot choose its own address for the login throttle and the audit log."""
    raw = (os.environ if environ is None else environ).get(PROXY_HOPS_ENV, "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > 10:
        raise SettingError(f"环境变量 {PROXY_HOPS_ENV} 应为 0 到 10 的整数（服务前反向代理的层数），"
                           f"当前为“{raw}”；不经代理时请不要设置它")
    return int(raw)


def install_security(app, warehouse) -> Gate:
    """Secure the Dash app `app` whose warehouse is `warehouse` (connection or Warehouse)."""
    server = app.server
    hops = proxy_hops()
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops)
    store = warehouse
    g = Gate(store, app)
    app.interpolate_index = g.interpolate_index(app.interpolate_index)
    server.extensions["ybjc_gate"] = g
    server.extensions["ybjc_store"] = store
    server.secret_key = store.session_secret()
    server.json.ensure_ascii = False          # Chinese messages readable in API answers
    server.config.update(
        SESSION_COOKIE_NAME="ybjc_session", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES)
    server.before_request_funcs.setdefault(None, []).insert(0, g.before_request)
    server.after_request(g.after_request)
    server.add_url_rule("/login", "ybjc_login", g.login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "ybjc_logout", g.logout, methods=["GET", "POST"])
    server.add_url_rule("/password", "ybjc_password", g.password, methods=["GET", "POST"])
    server.add_url_rule("/_alive", "ybjc_alive", lambda: flask.Response(status=204))
    server.register_error_handler(413, _too_large)
    from .api import bp
    from .bulletin_web import register as register_bulletin
    from .downloads import register_downloads
    register_downloads(server)
    register_bulletin(server)
    server.register_blueprint(bp)
    from .api_locks import bp as locks_bp
    server.register_blueprint(locks_bp)
    return g


def _too_large(_exc):
    mb = MAX_UPLOAD_BYTES // (1024 * 1024)
    from .errors import json_error
    return json_error(413, f"文件过大：上传内容不能超过 {mb} MB，请拆分后分别上传", rows=0, warnings=[])
