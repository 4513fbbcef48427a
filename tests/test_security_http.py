"""Who may do what, over HTTP against a real `python app.py` process: every route and callback
× every role (as data), region scope on uploads and templates, CSRF, throttling, headers."""
from __future__ import annotations

import json
import shutil

import pytest
import requests

from webserver import (PASSWORD, REGION_A, REGION_B, ROLES, Client, ServerProcess, add_accounts,
                       callback_body, fill_template)

A, L, D = "allow", "login", "deny"          # allowed / must log in first / forbidden
PAGE = {"_pages_location.search": "", "shell-render.data": "page"}

# (case, request, expected per role in ROLES order: anonymous, viewer, reporter_a, reporter_b, admin)
MATRIX = [
    ("index", ("GET", "/"), (L, A, A, A, A)),
    ("indicator page", ("GET", "/indicator"), (L, A, A, A, A)),
    ("dash layout", ("GET", "/_dash-layout"), (L, A, A, A, A)),
    ("dash dependencies", ("GET", "/_dash-dependencies"), (L, A, A, A, A)),
    ("upload page", ("GET", "/upload"), (L, D, A, A, A)),
    ("admin page", ("GET", "/admin"), (L, D, D, D, A)),
    ("template of A", ("GET", f"/download/template?region={REGION_A}&period=2024-03"), (L, D, A, D, A)),
    ("template of B", ("GET", f"/download/template?region={REGION_B}&period=2024Q1"), (L, D, D, A, A)),
    ("targets workbook", ("GET", "/admin/download/targets?plan=ningde-2022"), (L, D, D, D, A)),
    ("regions workbook", ("GET", "/admin/download/regions"), (L, D, D, D, A)),
    ("login page", ("GET", "/login"), (A, A, A, A, A)),
    ("static asset", ("GET", "/assets/style.css"), (A, A, A, A, A)),
    ("overview content", ("CB", "_pages_content", {"_pages_location.pathname": "/", **PAGE}), (L, A, A, A, A)),
    ("targets content", ("CB", "_pages_content", {"_pages_location.pathname": "/targets", **PAGE}),
     (L, A, A, A, A)),
    ("upload content", ("CB", "_pages_content", {"_pages_location.pathname": "/upload", **PAGE}),
     (L, D, A, A, A)),
    ("admin content", ("CB", "_pages_content", {"_pages_location.pathname": "/admin", **PAGE}),
     (L, D, D, D, A)),
    ("navigation callback", ("CB", "nav.children", {"_pages_location.pathname": "/", **PAGE}), (L, A, A, A, A)),
    ("upload check callback", ("CB", "upload-check.children", {}), (L, D, A, A, A)),
    ("upload confirm callback", ("CB", "upload-outcome.children@", {}), (L, D, A, A, A)),
    ("template link callback", ("CB", "upload-template-link.href", {}), (L, D, A, A, A)),
    ("admin audit callback", ("CB", "admin-audit.children", {}), (L, D, D, D, A)),
    ("admin sheet callback", ("CB", "admin-sheet-check.children", {}), (L, D, D, D, A)),
    ("admin apply callback", ("CB", "admin-apply-outcome.children@", {}), (L, D, D, D, A)),
    ("API upload of A's return", ("API", "a.xlsx"), (L, D, A, D, A)),
]


@pytest.fixture(scope="module")
def server(_initialised_template, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("security_http")
    db_path = tmp / "warehouse.duckdb"
    shutil.copy(_initialised_template, db_path)
    tokens = add_accounts(db_path)
    from pipelines import db
    con = db.connect(db_path)
    try:
        files = {"a.xlsx": fill_template(con, REGION_A, "2024-03", tmp / "a.xlsx"),
                 "b.xlsx": fill_template(con, REGION_B, "2024-03", tmp / "b.xlsx"),
                 "a_meta_b.xlsx": fill_template(con, REGION_A, "2024-02", tmp / "a_meta_b.xlsx",
                                                meta_region=REGION_B)}
    finally:
        con.close()
    with ServerProcess(db_path) as srv:
        clients = {"anonymous": Client(srv.url)}
        for role in ROLES[1:]:
            clients[role] = Client(srv.url)
            assert clients[role].login(role).status_code == 302
        deps = clients["admin"].get("/_dash-dependencies").json()
        yield {"srv": srv, "url": srv.url, "tokens": tokens, "files": files, "clients": clients,
               "deps": deps, "db": db_path}


def _text(r) -> str:
    """A Dash callback answer as readable text (Dash escapes non-ASCII)."""
    return json.dumps(r.json(), ensure_ascii=False)


def _send(server, role, req):
    client = server["clients"][role]
    kind = req[0]
    if kind == "GET":
        return client.get(req[1], headers={"Accept": "text/html"})
    if kind == "CB":
        return client.post("/_dash-update-component", json=callback_body(server["deps"], req[1], req[2]))
    headers = {"Authorization": "Bearer " + server["tokens"][role]} if role != "anonymous" else {}
    with open(server["files"][req[1]], "rb") as fh:
        return requests.post(server["url"] + "/api/returns", headers=headers, files={"file": (req[1], fh)})


@pytest.mark.parametrize("role_index, role", list(enumerate(ROLES)))
@pytest.mark.parametrize("case, req, expected", MATRIX, ids=[m[0] for m in MATRIX])
def test_access_matrix(server, case, req, expected, role_index, role):
    r = _send(server, role, req)
    want = expected[role_index]
    if want == A:
        assert r.status_code in (200, 204), (case, role, r.status_code, r.text[:300])
    elif want == L:
        if req[0] == "GET":
            assert r.status_code == 302 and r.headers["Location"].startswith("/login?next="), r.status_code
        else:
            assert r.status_code == 401, (r.status_code, r.text[:200])
    else:
        assert r.status_code == 403, (case, role, r.status_code, r.text[:300])
        assert "无权" in r.text or "不能" in r.text or "范围" in r.text or "权限" in r.text


def test_allowed_pages_render_their_content(server):
    c = server["clients"]
    admin_page = _text(c["admin"].post("/_dash-update-component", json=callback_body(
        server["deps"], "_pages_content", {"_pages_location.pathname": "/admin", **PAGE})))
    assert "系统管理" in admin_page and "reporter_b" in admin_page
    text = _text(c["reporter_a"].post("/_dash-update-component", json=callback_body(
        server["deps"], "_pages_content", {"_pages_location.pathname": "/upload", **PAGE})))
    assert "数据报送" in text and REGION_A in text and REGION_B not in text   # own region only
    index = c["viewer"].get("/").text
    assert 'id="ybjc-user"' in index and "viewer（查看者）" in index and 'href="/upload"' not in index


def test_reporter_of_a_cannot_upload_for_b(server):
    tok = {"Authorization": "Bearer " + server["tokens"]["reporter_a"]}
    url = server["url"] + "/api/returns"

    def post(name, **extra):
        with open(server["files"][name], "rb") as fh:
            return requests.post(url, headers=tok, files={"file": (name, fh)}, **extra)
    # B's own template
    r = post("b.xlsx")
    assert r.status_code == 403 and r.json()["status"] == "denied" and r.json()["rows"] == 0
    # ... with the request claiming region A
    r = post("b.xlsx", data={"region": REGION_A, "region_code": REGION_A})
    assert r.status_code == 403
    # A's template whose hidden metadata was edited to say B: refused, nothing loaded
    r = post("a_meta_b.xlsx")
    assert r.status_code in (403, 422) and r.json()["status"] in ("denied", "rejected")
    assert any("_meta" in e or "元数据" in e or "不一致" in e or "范围" in e for e in r.json()["errors"])
    # the template of B is not handed out either
    c = server["clients"]["reporter_a"]
    assert c.get(f"/download/template?region={REGION_B}&period=2024-03").status_code == 403
    assert c.get("/download/template?region=福安市&period=2024-03").status_code == 403
    # through the web upload callbacks: the check refuses, the confirm loads nothing
    import base64
    content = "data:application/octet-stream;base64," + base64.b64encode(
        server["files"]["b.xlsx"].read_bytes()).decode()
    check = c.post("/_dash-update-component", json=callback_body(
        server["deps"], "upload-check.children", {"upload-file.contents": content,
                                                  "upload-file.filename": "b.xlsx"}))
    assert check.status_code == 200 and "整体拒收" in _text(check)
    confirm = c.post("/_dash-update-component", json=callback_body(
        server["deps"], "upload-outcome.children@", {
            "upload-confirm.n_clicks": 1,
            "upload-pending.data": {"contents": content, "filename": "b.xlsx"}}))
    assert confirm.status_code == 200 and "提交失败" in _text(confirm) and "已接收" not in _text(confirm)
    # and the warehouse holds nothing from B's file: the admin sees only refusals for it
    admin = server["clients"]["admin"]
    audit = admin.post("/_dash-update-component", json=callback_body(
        server["deps"], "admin-audit.children", {"admin-audit-action.value": "ingest"}))
    audit = _text(audit)
    assert "b.xlsx" in audit and "reporter_a" in audit


def test_csrf_less_posts_fail(server):
    c = server["clients"]["viewer"]
    body = callback_body(server["deps"], "_pages_content", {"_pages_location.pathname": "/", **PAGE})
    assert c.post("/_dash-update-component", json=body).status_code == 200
    assert c.post("/_dash-update-component", json=body, csrf=False).status_code == 403
    assert c.post("/_dash-update-component", json=body, csrf=False,
                  headers={"X-CSRFToken": "forged"}).status_code == 403
    other = server["clients"]["reporter_a"].csrf          # a valid token of another session
    assert c.post("/_dash-update-component", json=body, csrf=False,
                  headers={"X-CSRFToken": other}).status_code == 403
    assert c.post("/logout", csrf=False).status_code == 403
    fresh = Client(server["url"])
    fresh.s.get(server["url"] + "/login")
    r = fresh.s.post(server["url"] + "/login", data={"username": "viewer", "password": PASSWORD},
                     allow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.text
    assert fresh.get("/", headers={"Accept": "text/html"}).status_code == 302


def test_login_throttling_locks_user_and_ip(server):
    c = Client(server["url"])
    for _ in range(5):
        assert c.login("reporter_b", "wrong-password").status_code == 401
    locked = c.login("reporter_b")                      # right password, but locked now
    assert locked.status_code == 429 and "锁定" in locked.text
    assert Client(server["url"]).login("viewer").status_code == 302   # other accounts unaffected


def _fresh_server(_initialised_template, tmp_path, env=None):
    db_path = tmp_path / "warehouse.duckdb"
    shutil.copy(_initialised_template, db_path)
    add_accounts(db_path)
    return db_path, ServerProcess(db_path, env=env)


def _legacy_hash(password: str) -> str:
    """The pre-werkzeug hash format (scrypt$N$r$p$salt$hash, base64), computed here."""
    import base64
    import hashlib
    salt = b"fedcba9876543210"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2 ** 15, r=8, p=1,
                            maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt$32768$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_password_change_ends_the_other_session_and_legacy_hashes_are_rehashed(_initialised_template,
                                                                               tmp_path):
    from werkzeug.security import check_password_hash

    from pipelines import db
    from pipelines.accounts import users as accounts
    db_path, srv = _fresh_server(_initialised_template, tmp_path)
    con = db.connect(db_path)
    try:
        for name in ("legacy1", "legacy2"):
            accounts.add_user(con, name, "viewer", "placeholder-pass")
            con.execute("UPDATE users SET password_hash = ? WHERE name = ?", [_legacy_hash("old-style-pass"), name])
    finally:
        con.close()
    with srv:
        # two sessions of reporter_a
        one, two = Client(srv.url), Client(srv.url)
        assert one.login("reporter_a").status_code == 302 and two.login("reporter_a").status_code == 302
        assert one.get("/", headers={"Accept": "text/html"}).status_code == 200
        assert two.get("/", headers={"Accept": "text/html"}).status_code == 200
        # the first changes the password
        changed = one.post("/password", data={"old_password": PASSWORD, "new_password": "brand-new-pass-9",
                                              "new_again": "brand-new-pass-9", "next": "/upload"})
        assert changed.status_code == 302 and changed.headers["Location"] == "/upload"
        assert one.get("/upload", headers={"Accept": "text/html"}).status_code == 200    # re-signed
        # the other's next page request goes to the login page, its callbacks are refused
        sent = two.get("/upload", headers={"Accept": "text/html"})
        assert sent.status_code == 302 and sent.headers["Location"] == "/login?next=/upload"
        deps = one.get("/_dash-dependencies").json()
        body = callback_body(deps, "_pages_content", {"_pages_location.pathname": "/", **PAGE})
        assert two.post("/_dash-update-component", json=body).status_code == 401
        assert one.post("/_dash-update-component", json=body).status_code == 200
        assert Client(srv.url).login("reporter_a").status_code == 401                      # old password
        assert Client(srv.url).login("reporter_a", "brand-new-pass-9").status_code == 302
        # legacy hashes: legacy1 logs in (and is rehashed), legacy2 only fails
        assert Client(srv.url).login("legacy1", "old-style-pass").status_code == 302
        assert Client(srv.url).login("legacy2", "not-the-pass").status_code == 401
    con = db.connect(db_path, read_only=True)
    try:
        h1, h2 = (con.execute("SELECT password_hash FROM users WHERE name = ?", [n]).fetchone()[0]
                  for n in ("legacy1", "legacy2"))
    finally:
        con.close()
    assert h1.startswith("scrypt:32768:8:1$") and check_password_hash(h1, "old-style-pass")
    assert h2 == _legacy_hash("old-style-pass")
    with ServerProcess(db_path) as again:
        assert Client(again.url).login("legacy1", "old-style-pass").status_code == 302


def _spray_from(client, forwarded_for: str | None, n: int, prefix: str) -> list[int]:
    if forwarded_for is not None:
        client.s.headers["X-Forwarded-For"] = forwarded_for
    return [client.login(f"{prefix}{i:02d}", "wrong-password").status_code for i in range(n)]


def test_with_proxy_hops_x_forwarded_for_decides_the_throttled_address(_initialised_template, tmp_path):
    from pipelines import db
    from pipelines.accounts import users as accounts
    db_path, srv = _fresh_server(_initialised_template, tmp_path, env={"YBJC_PROXY_HOPS": "1"})
    with srv:
        limit = accounts.ADDRESS_FAILURES
        assert _spray_from(Client(srv.url), "10.9.9.1", limit, "p") == [401] * limit
        locked = _spray_from(Client(srv.url), "10.9.9.1", 1, "q")
        assert locked == [429]
        c = Client(srv.url)
        c.s.headers["X-Forwarded-For"] = "10.9.9.1"
        r = c.login("viewer")
        assert r.status_code == 429 and "本机登录失败次数过多" in r.text
        other = Client(srv.url)
        other.s.headers["X-Forwarded-For"] = "10.9.9.2"         # another client behind the proxy
        assert other.login("viewer").status_code == 302
        # one hop: only the address the proxy appended counts, not one the client put before it
        spoof = Client(srv.url)
        spoof.s.headers["X-Forwarded-For"] = "1.2.3.4, 10.9.9.1"
        assert spoof.login("viewer").status_code == 429
    con = db.connect(db_path, read_only=True)
    try:
        ips = con.execute("SELECT json_extract_string(detail, '$.ip'), count(*) FROM audit_log "
                          "WHERE action = 'login' GROUP BY 1 ORDER BY 1").fetchall()
    finally:
        con.close()
    assert ips == [("10.9.9.1", 20 + 1 + 1 + 1), ("10.9.9.2", 1)]
    assert accounts.ADDRESS_FAILURES == 20


def test_without_proxy_hops_x_forwarded_for_is_ignored(_initialised_template, tmp_path):
    from pipelines import db
    db_path, srv = _fresh_server(_initialised_template, tmp_path)
    with srv:
        codes = [_spray_from(Client(srv.url), f"10.8.0.{i}", 1, f"a{i}-")[0] for i in range(20)]
        assert codes == [401] * 20
        c = Client(srv.url)
        c.s.headers["X-Forwarded-For"] = "10.8.1.1"               # a fresh address, claimed
        r = c.login("viewer")
        assert r.status_code == 429 and "本机登录失败次数过多" in r.text
    con = db.connect(db_path, read_only=True)
    try:
        ips = con.execute("SELECT json_extract_string(detail, '$.ip'), count(*) FROM audit_log "
                          "WHERE action = 'login' GROUP BY 1").fetchall()
    finally:
        con.close()
    assert ips == [("127.0.0.1", 21)]                            # the claimed addresses were ignored


def test_a_bad_proxy_hops_value_stops_the_start_in_chinese(_initialised_template, tmp_path):
    _db, srv = _fresh_server(_initialised_template, tmp_path, env={"YBJC_PROXY_HOPS": "two"})
    with pytest.raises(RuntimeError) as err:
        srv.__enter__()
    assert "环境变量 YBJC_PROXY_HOPS 应为 0 到 10 的整数" in str(err.value) and "Traceback" not in str(err.value)
    srv.log.close()


def test_security_headers_and_cookies(server):
    c = server["clients"]["viewer"]
    for path in ("/", "/login", "/_dash-layout"):
        h = c.get(path).headers
        csp = h["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "http" not in csp and "frame-ancestors 'none'" in csp
        assert h["X-Frame-Options"] == "DENY" and h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"] == "same-origin"
    cookie = Client(server["url"]).login("viewer").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    tampered = Client(server["url"])
    tampered.s.cookies.set("ybjc_session", c.s.cookies["ybjc_session"][:-3] + "abc")
    assert tampered.get("/", headers={"Accept": "text/html"}).status_code == 302


def test_upload_size_limit(server):
    tok = {"Authorization": "Bearer " + server["tokens"]["admin"]}
    r = requests.post(server["url"] + "/api/returns", headers=tok,
                      files={"file": ("big.xlsx", b"0" * (31 * 1024 * 1024))})
    assert r.status_code == 413 and "文件过大" in r.json()["errors"][0]


def test_logout_ends_the_session(server):
    c = Client(server["url"])
    assert c.login("viewer").status_code == 302
    assert c.get("/", headers={"Accept": "text/html"}).status_code == 200
    assert c.post("/logout").status_code == 302
    assert c.get("/", headers={"Accept": "text/html"}).status_code == 302


def test_without_users_dashboards_are_read_only(_initialised_template, tmp_path):
    db_path = tmp_path / "warehouse.duckdb"
    shutil.copy(_initialised_template, db_path)
    with ServerProcess(db_path) as srv:
        c = Client(srv.url)
        index = c.get("/", headers={"Accept": "text/html"})
        assert index.status_code == 200 and "尚未创建账户，当前为只读浏览" in index.text
        deps = c.get("/_dash-dependencies").json()
        body = callback_body(deps, "_pages_content", {"_pages_location.pathname": "/", **PAGE})
        assert c.post("/_dash-update-component", json=body).status_code == 200
        for path in ("/upload", "/admin", f"/download/template?region={REGION_A}&period=2024-03"):
            r = c.get(path, headers={"Accept": "text/html"})
            assert r.status_code == 403 and "尚未创建账户" in r.text
        up = callback_body(deps, "_pages_content", {"_pages_location.pathname": "/upload", **PAGE})
        assert c.post("/_dash-update-component", json=up).status_code == 403
        r = requests.post(srv.url + "/api/returns", files={"file": ("x.xlsx", b"x")},
                          headers={"Authorization": "Bearer ybjc_nothing"})
        assert r.status_code == 401
        assert "尚未创建账户" in c.get("/login").text


def test_admin_edits_targets_through_the_web(server, tmp_path):
    import base64
    from openpyxl import load_workbook
    admin = server["clients"]["admin"]
    r = admin.get("/admin/download/targets?plan=ningde-2022")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    path = tmp_path / "ningde.xlsx"
    path.write_bytes(r.content)

    def check(p):
        content = "data:application/octet-stream;base64," + base64.b64encode(p.read_bytes()).decode()
        answer = admin.post("/_dash-update-component", json=callback_body(
            server["deps"], "admin-sheet-check.children",
            {"admin-sheet-upload.contents": content, "admin-sheet-upload.filename": p.name}))
        assert answer.status_code == 200
        return answer.json()["response"], content

    wb = load_workbook(path)
    wb["目标"]["G2"] = "七十五"
    wb["目标"]["C3"] = "000000"
    wb.save(path)
    response, _ = check(path)
    text = json.dumps(response, ensure_ascii=False)
    assert "目标!G2" in text and "目标!C3" in text and response["admin-sheet-pending"]["data"] is None
    wb["目标"]["G2"] = 75
    wb["目标"]["C3"] = "350900"
    wb.save(path)
    response, content = check(path)
    text = json.dumps(response, ensure_ascii=False)
    assert "共 1 处修改" in text and "目标值：70.0 → 75" in text
    applied = admin.post("/_dash-update-component", json=callback_body(
        server["deps"], "admin-apply-outcome.children@",
        {"admin-apply.n_clicks": 1, "admin-sheet-pending.data": response["admin-sheet-pending"]["data"]}))
    assert applied.status_code == 200 and "已应用 1 处修改" in _text(applied)
    # a reporter cannot apply the same pending change
    denied = server["clients"]["reporter_a"].post("/_dash-update-component", json=callback_body(
        server["deps"], "admin-apply-outcome.children@",
        {"admin-apply.n_clicks": 1, "admin-sheet-pending.data": response["admin-sheet-pending"]["data"]}))
    assert denied.status_code == 403
    # the targets page now shows 75 and the audit log names the admin
    audit = _text(admin.post("/_dash-update-component", json=callback_body(
        server["deps"], "admin-audit.children", {"admin-audit-action.value": "targets.apply"})))
    assert "ningde-2022" in audit and "admin" in audit
    again, _ = check(path)
    assert "没有需要应用的修改" in json.dumps(again, ensure_ascii=False)
