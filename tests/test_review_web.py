"""Review (审核) over HTTP against a real `python app.py`: the role × action matrix (viewer,
reporter of a 镇街, reporter of the city, admin) for the /review page, its decision callback
and the API routes, and the bad inputs — each a Chinese refusal that changes nothing."""
from __future__ import annotations

import json
import shutil

import pytest
import requests

from webserver import (PASSWORD, REGION_A, Client, ServerProcess, add_accounts, assert_json_error,
                       callback_body, fill_template)

CITY = "350900"
PAGE = {"_pages_location.search": "", "shell-render.data": "page"}
ROLES = ("anonymous", "viewer", "reporter_a", "city", "admin")


@pytest.fixture(scope="module")
def server(_initialised_template, tmp_path_factory):
    from pipelines import db
    from pipelines.accounts import users as accounts
    from pipelines.returns.ingest import ingest_files
    tmp = tmp_path_factory.mktemp("review_web")
    db_path = tmp / "warehouse.duckdb"
    shutil.copy(_initialised_template, db_path)
    tokens = add_accounts(db_path)
    con = db.connect(db_path)
    try:
        accounts.add_user(con, "city", "reporter", PASSWORD, region=CITY)
        tokens["city"] = accounts.create_token(con, "city")
        sids = {}
        for period in ("2024-01", "2024-02", "2024-03", "2024-04"):
            path = fill_template(con, REGION_A, period, tmp / f"蕉城区_{period}.xlsx", 80, 100)
            out = ingest_files(con, [path], user="reporter_a", channel="web", archive_dir=tmp / "raw")[0]
            assert out.status == "accepted", out.line()
            sids[period] = out.submission_id
        bad = fill_template(con, REGION_A, "2024-05", tmp / "蕉城区_有误.xlsx", 80, 100)
        from openpyxl import load_workbook
        wb = load_workbook(bad)
        wb.worksheets[0]["C6"] = "八十"
        wb.save(bad)
        out = ingest_files(con, [bad], user="reporter_a", channel="web", archive_dir=tmp / "raw")[0]
        assert out.status == "rejected"
        sids["rejected"] = out.submission_id
    finally:
        con.close()
    with ServerProcess(db_path) as srv:
        clients = {"anonymous": Client(srv.url)}
        for role in ROLES[1:]:
            clients[role] = Client(srv.url)
            assert clients[role].login(role).status_code == 302
        deps = clients["admin"].get("/_dash-dependencies").json()
        yield {"srv": srv, "url": srv.url, "tokens": tokens, "clients": clients, "deps": deps, "sids": sids}


def _text(r) -> str:
    return json.dumps(r.json(), ensure_ascii=False)


def _api(server, role, method, path, **kw):
    headers = {"Authorization": "Bearer " + server["tokens"][role]} if role != "anonymous" else {}
    return requests.request(method, server["url"] + path, headers=headers, timeout=30, **kw)


def _queue(server) -> list[int]:
    r = _api(server, "admin", "GET", "/api/v1/reviews")
    assert r.status_code == 200, r.text
    return [x["submission_id"] for x in r.json()["reviews"]]


def _decision_body(deps, sid: int, kind: str, comment: str | None) -> dict:
    """What Dash's renderer posts when 通过 / 退回 of card `sid` is clicked."""
    dep = next(d for d in deps if "review-message.children" in d["output"])

    def pid(t):
        return {"sid": sid, "type": t}
    clicked = pid("review-approve" if kind == "approve" else "review-return")
    return {"output": dep["output"],
            "outputs": [{"id": "review-message", "property": "children"},
                        {"id": "review-queue", "property": "children"}],
            "inputs": [[{"id": pid("review-approve"), "property": "n_clicks", "value": int(kind == "approve")}],
                       [{"id": pid("review-return"), "property": "n_clicks", "value": int(kind != "approve")}]],
            "state": [[{"id": pid("review-comment"), "property": "value", "value": comment}],
                      [{"id": pid("review-comment"), "property": "id", "value": pid("review-comment")}]],
            "changedPropIds": [json.dumps(clicked, sort_keys=True, separators=(",", ":")) + ".n_clicks"]}


def test_page_matrix(server):
    c = server["clients"]
    # the page path: anonymous → login, viewer → 403, reporters and admins → the page
    expect = {"anonymous": 302, "viewer": 403, "reporter_a": 200, "city": 200, "admin": 200}
    for role, status in expect.items():
        r = c[role].get("/review", headers={"Accept": "text/html"})
        assert r.status_code == status, (role, r.status_code)
        if status == 403:
            assert "无权访问" in r.text and "填报员或管理员" in r.text
    # its content: the town has nothing below it; the city and the admin see the queue
    content = {}
    for role in ROLES:
        r = c[role].post("/_dash-update-component", json=callback_body(
            server["deps"], "_pages_content", {"_pages_location.pathname": "/review", **PAGE}))
        content[role] = r
    assert content["anonymous"].status_code == 401 and content["viewer"].status_code == 403
    assert "没有下级地区，无需审核" in _text(content["reporter_a"])
    for role in ("city", "admin"):
        text = _text(content[role])
        assert content[role].status_code == 200
        assert "蕉城区_2024-01.xlsx" in text and "蕉城区" in text and "2024年1月" in text
        assert "通过" in text and "退回" in text and "蕉城区_有误.xlsx" not in text   # rejected: not queued
    # the account bar: a 审核 link for who may review, with the queue's length
    for role, has in (("viewer", False), ("reporter_a", False), ("city", True), ("admin", True)):
        index = c[role].get("/").text
        assert ('id="ybjc-link-review"' in index) is has, role
    assert "数据审核（待审 4）" in c["city"].get("/").text


def test_indicator_and_district_tables_mark_unreviewed_figures(server):
    """2024-04 of 蕉城区 is pending throughout: its figures carry ※待审 on every page."""
    viewer = server["clients"]["viewer"]
    for path, search in (("/indicator", f"?jurisdiction={CITY}&period=2024-04&indicator=evoucher_activation_rate"),
                         ("/district", f"?jurisdiction={CITY}&period=2024-04&region={REGION_A}"),
                         ("/", f"?jurisdiction={CITY}&period=2024-04")):
        r = viewer.post("/_dash-update-component", json=callback_body(
            server["deps"], "_pages_content",
            {"_pages_location.pathname": path, "_pages_location.search": search, "shell-render.data": "page"}))
        assert r.status_code == 200 and "※待审" in _text(r), path
    r = viewer.post("/_dash-update-component", json=callback_body(
        server["deps"], "_pages_content", {"_pages_location.pathname": "/", "_pages_location.search":
                                           f"?jurisdiction={CITY}&period=2023-12", "shell-render.data": "page"}))
    assert "※待审" not in _text(r).replace("※待审 含未审核通过的数据", "")   # no data: only the legend


def test_callback_matrix_and_refusals_change_nothing(server):
    c, deps, sids = server["clients"], server["deps"], server["sids"]
    sid = sids["2024-01"]
    before = _queue(server)
    assert r_status(c["anonymous"].post("/_dash-update-component", json=_decision_body(deps, sid, "approve", ""))) == 401
    r = c["viewer"].post("/_dash-update-component", json=_decision_body(deps, sid, "approve", ""))
    assert r.status_code == 403 and "填报员或管理员" in r.text
    # the town reporter reaches the callback, which refuses by scope
    r = c["reporter_a"].post("/_dash-update-component", json=_decision_body(deps, sid, "approve", ""))
    assert r.status_code == 200 and "无权审核报送" in _text(r) and "review-refused" in _text(r)
    # the city: 退回 without a comment, then with 100 000 characters: refused
    r = c["city"].post("/_dash-update-component", json=_decision_body(deps, sid, "reject", "  "))
    assert "退回时须填写审核意见" in _text(r)
    r = c["city"].post("/_dash-update-component", json=_decision_body(deps, sid, "reject", "错" * 100_000))
    assert "最多 500 个字，当前 100000 个字" in _text(r)
    assert _queue(server) == before
    # a real decision by the city
    r = c["city"].post("/_dash-update-component", json=_decision_body(deps, sid, "reject", "请核实1月数据"))
    text = _text(r)
    assert r.status_code == 200 and f"已退回报送 #{sid}" in text and "请核实1月数据" in text
    assert sid not in _queue(server)
    # the admin clicking a card decided meanwhile: 409 in words
    r = c["admin"].post("/_dash-update-component", json=_decision_body(deps, sid, "approve", ""))
    assert "不能重复审核" in _text(r) and "由 city 审核为“退回”" in _text(r)
    # the returned file is on its uploader's upload page and account bar
    up = c["reporter_a"].post("/_dash-update-component", json=callback_body(
        deps, "_pages_content", {"_pages_location.pathname": "/upload", **PAGE}))
    assert "被退回的报送（1 份）" in _text(up) and "请核实1月数据" in _text(up)
    bar = c["reporter_a"].get("/").text
    assert 'id="ybjc-returned"' in bar and "请核实1月数据" in bar and f"报送 #{sid}" in bar


def r_status(r) -> int:
    return r.status_code


def test_api_matrix(server):
    sids = server["sids"]
    assert_json_error(_api(server, "anonymous", "GET", "/api/v1/reviews"), 401, "令牌")
    assert_json_error(_api(server, "viewer", "GET", "/api/v1/reviews"), 403, "无审核权限")
    assert_json_error(_api(server, "reporter_a", "GET", "/api/v1/reviews"), 403, "没有下级地区")
    for role in ("city", "admin"):
        r = _api(server, role, "GET", "/api/v1/reviews")
        assert r.status_code == 200
        body = r.json()
        first = next(x for x in body["reviews"] if x["submission_id"] == sids["2024-02"])
        assert first["region_names"] == ["蕉城区"] and first["period_labels"] == ["2024年2月"]
        assert first["uploaded_by"] == "reporter_a" and first["state"] == "pending"
        assert first["values"] and all(v["numerator"] == 80 and v["old_numerator"] is None
                                       for v in first["values"])
        ids = [x["submission_id"] for x in body["reviews"]]
        assert ids == sorted(ids)                         # oldest first
    # a session may read the queue, but not decide (no ambient credential decides)
    assert server["clients"]["city"].get("/api/v1/reviews").status_code == 200
    r = server["clients"]["city"].post(f"/api/v1/submissions/{sids['2024-02']}/review",
                                       json={"decision": "approve"})
    assert_json_error(r, 401, "令牌")

    path = f"/api/v1/submissions/{sids['2024-02']}/review"
    before = _queue(server)
    assert_json_error(_api(server, "anonymous", "POST", path, json={"decision": "approve"}), 401, "令牌")
    assert_json_error(_api(server, "viewer", "POST", path, json={"decision": "approve"}), 403, "无审核权限")
    assert_json_error(_api(server, "reporter_a", "POST", path, json={"decision": "approve"}), 403, "无权审核")
    assert_json_error(_api(server, "city", "POST", path, json={"decision": "maybe"}), 400, "审核结论无效")
    r = requests.post(server["url"] + path, data="not json", timeout=30,
                      headers={"Authorization": "Bearer " + server["tokens"]["city"],
                               "Content-Type": "application/json"})
    assert_json_error(r, 400, "JSON")
    assert_json_error(_api(server, "city", "POST", path, json={"decision": "reject", "comment": "错" * 100_000}),
                      422, "最多 500 个字")
    assert_json_error(_api(server, "city", "POST", path, json={"decision": "reject"}), 422, "须填写审核意见")
    assert_json_error(_api(server, "admin", "POST", "/api/v1/submissions/999999/review",
                           json={"decision": "approve"}), 404, "不存在")
    assert_json_error(_api(server, "admin", "POST", f"/api/v1/submissions/{sids['rejected']}/review",
                           json={"decision": "approve"}), 422, "已被拒收")
    assert _queue(server) == before
    r = _api(server, "city", "POST", path, json={"decision": "approve", "comment": "数据无误"})
    assert r.status_code == 200, r.text
    assert r.json()["review"]["state"] == "approved" and r.json()["review"]["reviewer"] == "city"
    assert_json_error(_api(server, "admin", "POST", path, json={"decision": "approve"}), 409, "不能重复审核")
    assert sids["2024-02"] not in _queue(server)
    # the admin decides too
    r = _api(server, "admin", "POST", f"/api/v1/submissions/{sids['2024-03']}/review",
             json={"decision": "approve"})
    assert r.status_code == 200 and r.json()["review"]["reviewer"] == "admin"
