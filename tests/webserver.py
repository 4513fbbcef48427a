"""Test support for the security tests: a real `python app.py` process, accounts, HTTP clients
that log in like a browser (CSRF token from the login form / cookie), Dash callback requests
built from the server's own /_dash-dependencies, and filled return templates."""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
REGION_A = "350902"          # 蕉城区
REGION_B = "350981"          # 福安市
PASSWORD = "test-pass-123"
ROLES = ("anonymous", "viewer", "reporter_a", "reporter_b", "admin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`python app.py --db DB --port P` as a subprocess; stopped on exit."""

    def __init__(self, db_path: Path, threads: int = 8, env: dict | None = None):
        self.db_path = Path(db_path)
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.threads = threads
        self.proc = None

    def __enter__(self) -> "ServerProcess":
        self.log = open(self.db_path.parent / f"server_{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "app.py", "--db", str(self.db_path), "--port", str(self.port),
             "--threads", str(self.threads)], cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
            env={"GX_ANALYTICS_ENABLED": "false", "PATH": "/usr/bin:/bin", **self.env})
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + (self.db_path.parent / f"server_{self.port}.log").read_text())
            try:
                if requests.get(self.url + "/login", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not start in 60 s")

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def add_accounts(db_path: Path) -> dict[str, str]:
    """viewer, reporter_a (蕉城区), reporter_b (福安市), admin; returns API tokens by role."""
    from pipelines.accounts import users as accounts
    from pipelines import db
    con = db.connect(db_path)
    try:
        accounts.add_user(con, "viewer", "viewer", PASSWORD)
        accounts.add_user(con, "reporter_a", "reporter", PASSWORD, region=REGION_A)
        accounts.add_user(con, "reporter_b", "reporter", PASSWORD, region=REGION_B)
        accounts.add_user(con, "admin", "admin", PASSWORD)
        return {role: accounts.create_token(con, role) for role in ROLES[1:]}
    finally:
        con.close()


class Client:
    """A requests session that logs in through /login like a browser."""

    def __init__(self, base: str):
        self.base = base
        self.s = requests.Session()

    def login(self, name: str, password: str = PASSWORD) -> requests.Response:
        page = self.s.get(self.base + "/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return self.s.post(self.base + "/login", data={"username": name, "password": password,
                                                       "csrf_token": token, "next": "/"},
                           allow_redirects=False)

    @property
    def csrf(self) -> str:
        if "_csrf_token" not in self.s.cookies:
            self.s.get(self.base + "/login")
        return self.s.cookies.get("_csrf_token", "")

    def get(self, path: str, **kw) -> requests.Response:
        kw.setdefault("allow_redirects", False)
        return self.s.get(self.base + path, **kw)

    def post(self, path: str, csrf: bool = True, **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if csrf:
            headers["X-CSRFToken"] = self.csrf
        kw.setdefault("allow_redirects", False)
        return self.s.post(self.base + path, headers=headers, **kw)


def dependencies(base: str, admin: Client) -> list[dict]:
    return admin.get("/_dash-dependencies", headers={"Accept": "application/json"}).json()


def callback_body(deps: list[dict], output_has: str, values: dict) -> dict:
    """The JSON Dash's renderer would POST for the callback whose output mentions `output_has`.

    values: "id.property" → value for inputs and states (missing ones are None).
    """
    dep = next(d for d in deps if output_has in d["output"])

    def items(specs):
        return [{"id": s["id"], "property": s["property"],
                 "value": values.get(f"{s['id']}.{s['property']}")} for s in specs]
    outs = []
    for part in dep["output"].strip(".").split("..."):
        cid, prop = part.rsplit(".", 1)
        outs.append({"id": json.loads(cid) if cid.startswith("{") else cid, "property": prop.split("@")[0]})
    return {"output": dep["output"], "outputs": outs if len(outs) > 1 else outs[0],
            "inputs": items(dep["inputs"]), "state": items(dep.get("state", [])),
            "changedPropIds": [f"{s['id']}.{s['property']}" for s in dep["inputs"]]}


def fill_template(con, region: str, period: str, path: Path, numerator: int = 90,
                  denominator: int = 100, meta_region: str | None = None) -> Path:
    """Write the template of `region`/`period` and fill every indicator row (openpyxl)."""
    from openpyxl import load_workbook

    from pipelines.returns.templates import HEADER_ROW, write_template
    write_template(con, region, period, path)
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    r = HEADER_ROW + 1
    while ws.cell(r, 1).value:
        ws.cell(r, 3).value = numerator
        if ws.cell(r, 4).fill.fgColor.rgb in (None, "00000000"):
            ws.cell(r, 4).value = denominator
        r += 1
    if meta_region:
        for sheet in wb.worksheets[1:]:
            for row in sheet.iter_rows():
                if row[0].value == "region_code":
                    row[1].value = meta_region
    wb.save(path)
    return path


def assert_json_error(response, http_status: int, *words: str) -> dict:
    """The server's one JSON refusal (dashboards/errors.py): the HTTP code, the status word that
    goes with it, and Chinese sentences in `errors` containing each of `words`."""
    status = {400: "rejected", 413: "rejected", 422: "rejected", 401: "denied", 403: "denied",
              404: "not_found"}.get(http_status, "error")
    assert response.status_code == http_status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert body["status"] == status, body
    assert isinstance(body["errors"], list) and body["errors"], body
    assert all(re.search(r"[\u4e00-\u9fff]", e) for e in body["errors"]), body
    assert "error" not in body, "one shape: a list `errors`, never a single `error`"
    for word in words:
        assert any(word in e for e in body["errors"]), (word, body["errors"])
    return body
