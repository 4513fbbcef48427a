"""Every route, page and callback of the app declares who may use it (dashboards/security.py
PATH_RULES and CALLBACK_RULES), and one that does not is refused to all but admins."""
from __future__ import annotations

import re

import pytest

from dashboards import security


@pytest.fixture
def app(warehouse_path):
    from app import create_app
    application = create_app(warehouse_path)
    with application.server.app_context():
        application._setup_server()          # Dash moves the pages' callbacks into the map here
    yield application
    application.server.config["WAREHOUSE"].close()


def _static_prefix(rule: str) -> str:
    """A Flask rule's path up to its first variable part (`/admin/bulletin/<token>/…` →
    `/admin/bulletin/`)."""
    return rule.split("<", 1)[0]


def _output_ids(callback_key: str) -> list[str]:
    ids = []
    for part in callback_key.strip(".").split("..."):
        cid = part.rsplit(".", 1)[0]
        ids.append(security._component_id(_parse_id(cid)))
    return ids


def _parse_id(cid: str):
    import json
    return json.loads(cid) if cid.startswith("{") else cid


def test_every_route_and_page_is_declared(app):
    import dash
    routes = sorted({r.rule for r in app.server.url_map.iter_rules()})
    undeclared = [r for r in routes if security.path_rule(_static_prefix(r) or "/") is None]
    assert undeclared == []
    pages = sorted(p["path"] for p in dash.page_registry.values())
    assert "/" in pages and "/admin" in pages and len(pages) >= 7
    assert [p for p in pages if security.path_rule(p) is None] == []
    # the levels say what the pages are for
    assert security.path_level("/admin") == "admin" and security.path_level("/upload") == "submit"
    assert security.path_level("/") == "read" and security.path_level("/login") == "public"


def test_every_callback_is_declared(app):
    keys = list(app.callback_map)
    assert len(keys) >= 25
    undeclared = sorted({cid for key in keys for cid in _output_ids(key) if security.callback_rule(cid) is None})
    assert undeclared == []


def test_an_undeclared_callback_needs_an_admin():
    body = {"output": "mystery-box.children", "outputs": {"id": "mystery-box", "property": "children"}}
    assert security.callback_level(body) == "admin"
    body = {"output": "overview-url.search", "outputs": {"id": "overview-url", "property": "search"}}
    assert security.callback_level(body) == "read"
    body = {"outputs": [{"id": "overview-url", "property": "search"}, {"id": "upload-check", "property": "children"}]}
    assert security.callback_level(body) == "submit"             # the highest of its outputs


def test_the_prefix_walk_finds_a_planted_undeclared_route():
    assert security.path_rule(_static_prefix("/secret/<int:id>")) is None
    assert security.path_rule(_static_prefix("/admin/download/<x>")) == ("/admin", "admin")
    assert re.match(r"^/", _static_prefix("/<path:path>"))


def test_the_page_is_built_by_dash_hooks_and_its_csp_by_dash_hashes(app):
    """No HTML rewriting: the account bar (here the no-users banner) comes through Dash's
    interpolate_index, the CSRF token through the cookie dash-renderer reads itself, and the
    CSP lists exactly Dash's own hashes of its inline scripts."""
    client = app.server.test_client()
    first = client.get("/", headers={"Accept": "text/html"})
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert "csrf.js" not in html and html.count('id="react-entry-point"') == 1
    assert html.index("尚未创建账户") < html.index('id="react-entry-point"')
    csp = first.headers["Content-Security-Policy"]
    hashes = re.findall(r"'(sha256-[^']+)'", csp)
    assert hashes and sorted(hashes) == sorted(h.strip("'") for h in app.csp_hashes())
    assert client.get("/indicator", headers={"Accept": "text/html"}).headers["Content-Security-Policy"] == csp
    cookie = client.get_cookie(security.CSRF_COOKIE)
    assert security.CSRF_COOKIE == "_csrf_token" and cookie is not None and len(cookie.value) > 20
