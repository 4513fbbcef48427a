"""Period locks against a real `python app.py` (tests/webserver.py): a locked period refused
through the API with its message, an admin's unlock with a reason and an expiry, the upload
accepted, then refused again once the unlock has expired (a 3-second unlock: the wait is what
is left of it); the role × action matrix of the unlock route and the admin page's callback;
bad unlocks (outside the admin's region, a 100 000-character reason, an expiry in the past)
refused in Chinese with nothing changed; and in Chromium, the refusal on the upload page."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import time

import pytest

from webserver import (PASSWORD, REGION_A, Client, ServerProcess, add_accounts, assert_json_error,
                       callback_body, dependencies, fill_template)

TOWN = "331081001"           # 太平街道 (温岭市)
CITY = "350900"              # 宁德市


@pytest.fixture
def locked_server(_initialised_template, tmp_path):
    from pipelines import db
    from pipelines.accounts import users as accounts
    db_path = tmp_path / "warehouse.duckdb"
    shutil.copy(_initialised_template, db_path)
    tokens = add_accounts(db_path)
    con = db.connect(db_path)
    try:
        accounts.add_user(con, "town", "reporter", PASSWORD, region=TOWN)
        accounts.add_user(con, "city", "reporter", PASSWORD, region=CITY)
        accounts.add_user(con, "nd_admin", "admin", PASSWORD, region=CITY)
        for name in ("town", "city", "nd_admin"):
            tokens[name] = accounts.create_token(con, name)
        con.execute("INSERT INTO settings VALUES ('lock_days.月度', '30')")
        files = {n: fill_template(con, REGION_A, "2024-03", tmp_path / f"{n}.xlsx", numerator=num)
                 for n, num in (("first", 80), ("second", 81), ("third", 82))}
    finally:
        con.close()
    with ServerProcess(db_path) as srv:
        yield srv, tokens, files


def _post_file(srv, token, path):
    import requests
    with open(path, "rb") as fh:
        return requests.post(srv.url + "/api/returns", headers={"Authorization": f"Bearer {token}"},
                             files={"file": (path.name, fh)}, timeout=120)


def _grant(srv, token, **fields):
    import requests
    return requests.post(srv.url + "/api/unlocks", headers={"Authorization": f"Bearer {token}"} if token else {},
                         json=fields, timeout=60)


def _unlocks(srv, token):
    import requests
    r = requests.get(srv.url + "/api/unlocks", headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["unlocks"]


def test_locked_refused_unlocked_accepted_then_refused_after_expiry(locked_server):
    srv, tokens, files = locked_server
    refused = _post_file(srv, tokens["reporter_a"], files["first"])
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error.startswith("填报表!C6: 蕉城区 2024年3月已于 2024-05-11 00:00 锁定（月度报表截止日 2024-04-10 后 30 天）")
    assert "请联系管理员（admin、nd_admin）为蕉城区 2024年3月解锁" in error

    expires = (dt.datetime.now() + dt.timedelta(seconds=3)).replace(microsecond=0)
    granted = _grant(srv, tokens["admin"], region="蕉城区", period="2024-03", reason="补报3月漏报的两个社区",
                     expires_at=expires.isoformat())
    assert granted.status_code == 201, granted.text
    unlock = granted.json()["unlock"]
    assert (unlock["region_code"], unlock["period"], unlock["state"], unlock["granted_by"]) == \
        (REGION_A, "2024-03", "生效中", "admin")
    accepted = _post_file(srv, tokens["reporter_a"], files["second"])
    assert accepted.status_code == 200 and accepted.json()["new"] == 2, accepted.text
    assert dt.datetime.now() < expires, "the accepted upload must land inside the unlock"

    time.sleep(max(0.0, (expires - dt.datetime.now()).total_seconds()) + 0.2)
    again = _post_file(srv, tokens["reporter_a"], files["third"])
    assert again.status_code == 422 and "已于 2024-05-11 00:00 锁定" in again.json()["errors"][0], again.text
    [listed] = _unlocks(srv, tokens["admin"])
    assert listed["state"] == "已过期" and listed["reason"] == "补报3月漏报的两个社区"


def test_role_by_action_matrix_of_the_unlock_route(locked_server):
    srv, tokens, _ = locked_server
    fields = dict(region="蕉城区", period="2024-03", reason="更正",
                  expires_at=(dt.datetime.now() + dt.timedelta(days=1)).isoformat(timespec="minutes"))
    assert_json_error(_grant(srv, None, **fields), 401, "令牌")
    for role, label in (("viewer", "查看者"), ("town", "填报员"), ("city", "填报员"), ("reporter_a", "填报员")):
        assert_json_error(_grant(srv, tokens[role], **fields), 403, label, "无权解锁统计期")
        import requests
        listing = requests.get(srv.url + "/api/unlocks", headers={"Authorization": f"Bearer {tokens[role]}"}, timeout=30)
        assert_json_error(listing, 403, "需要管理员权限")
    assert _unlocks(srv, tokens["admin"]) == []
    ok = _grant(srv, tokens["admin"], **fields)
    assert ok.status_code == 201, ok.text
    scoped = _grant(srv, tokens["nd_admin"], **{**fields, "region": "福安市", "subtree": True})
    assert scoped.status_code == 201 and scoped.json()["unlock"]["subtree"] is True
    assert [u["region_name"] for u in _unlocks(srv, tokens["admin"])] == ["福安市", "蕉城区"]


def test_role_by_action_matrix_of_the_admin_page_callback(locked_server):
    srv, tokens, _ = locked_server
    admin = Client(srv.url)
    admin.login("admin")
    deps = dependencies(srv.url, admin)
    values = {"admin-unlock-go.n_clicks": 1, "admin-unlock-region.value": REGION_A,
              "admin-unlock-period.value": "2024-03", "admin-unlock-subtree.value": [],
              "admin-unlock-reason.value": "3月分母录入错误",
              "admin-unlock-expires.value": f"{dt.datetime.now() + dt.timedelta(days=2):%Y-%m-%d %H:%M}"}
    body = callback_body(deps, "admin-unlock-outcome", values)
    for name in ("viewer", "town", "city", "reporter_a"):
        c = Client(srv.url)
        c.login(name)
        r = c.post("/_dash-update-component", json=body)
        assert_json_error(r, 403, "需要管理员权限")
    assert _unlocks(srv, tokens["admin"]) == []
    r = admin.post("/_dash-update-component", json=body)
    assert r.status_code == 200, r.text[:300]
    text = json.dumps(r.json(), ensure_ascii=False)
    assert "已解锁" in text and "蕉城区" in text and "到期后自动恢复锁定" in text
    [u] = _unlocks(srv, tokens["admin"])
    assert u["reason"] == "3月分母录入错误" and u["granted_by"] == "admin"
    # outside the scoped admin's region, through the page: a Chinese refusal, nothing added
    scoped = Client(srv.url)
    scoped.login("nd_admin")
    r = scoped.post("/_dash-update-component", json=callback_body(deps, "admin-unlock-outcome",
                                                                  {**values, "admin-unlock-region.value": TOWN}))
    text = json.dumps(r.json(), ensure_ascii=False)
    assert r.status_code == 200 and "未完成" in text and "只能解锁宁德市及其下级地区" in text
    assert len(_unlocks(srv, tokens["admin"])) == 1


@pytest.mark.parametrize("token,fields,status,words", [
    ("nd_admin", {"region": "太平街道"}, 403, ("只能解锁宁德市及其下级地区", "太平街道")),
    ("admin", {"reason": "长" * 100_000}, 422, ("最多 500 个字", "当前 100000 个字")),
    ("admin", {"expires_at": "2020-01-01T08:00"}, 422, ("已是过去的时间",)),
    ("admin", {"expires_at": "明天"}, 400, ("无法识别",)),
    ("admin", {"period": "2024-13"}, 400, ("统计期有误",)),
])
def test_bad_unlocks_are_refused_and_change_nothing(locked_server, token, fields, status, words):
    srv, tokens, files = locked_server
    base = dict(region="蕉城区", period="2024-03", reason="更正",
                expires_at=(dt.datetime.now() + dt.timedelta(days=1)).isoformat(timespec="minutes"))
    assert_json_error(_grant(srv, tokens[token], **{**base, **fields}), status, *words)
    assert _unlocks(srv, tokens["admin"]) == []
    assert _post_file(srv, tokens["reporter_a"], files["first"]).status_code == 422     # still locked


@pytest.mark.browser
def test_the_upload_page_says_why_a_locked_period_was_refused(locked_server, tmp_path, artifacts_dir):
    from selenium.webdriver.common.by import By

    from test_upload_browser import _driver, _wait
    srv, tokens, files = locked_server
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = _driver(downloads)
    try:
        driver.get(srv.url + "/upload?period=2024-03")
        driver.find_element(By.ID, "username").send_keys("reporter_a")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "login-submit").click()
        _wait(driver, "#ybjc-user", "reporter_a")
        _wait(driver, "#upload-file")
        driver.find_element(By.CSS_SELECTOR, "#upload-file input[type=file]").send_keys(str(files["first"]))
        table = _wait(driver, "#upload-issues", "锁定")
        assert "蕉城区 2024年3月已于 2024-05-11 00:00 锁定" in table.text
        assert "请联系管理员（admin、nd_admin）" in table.text and "C6" in table.text
        assert "未载入任何数据" in driver.find_element(By.ID, "upload-check").text
        assert not driver.find_element(By.ID, "upload-confirm").is_displayed()
        for w, h in ((1920, 1080), (1366, 768), (390, 844)):
            driver.set_window_size(w, h)
            time.sleep(0.3)
            driver.find_element(By.ID, "upload-issues").location_once_scrolled_into_view
            driver.save_screenshot(str(artifacts_dir / f"upload_locked_{w}x{h}.png"))
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors

        # the admin's section: unlock in the browser, the list shows it
        driver.delete_all_cookies()
        driver.set_window_size(1600, 1000)
        driver.get(srv.url + "/admin")
        driver.find_element(By.ID, "username").send_keys("admin")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "login-submit").click()
        _wait(driver, "#admin-tab-unlock", "统计期锁定与解锁").click()      # the admin page's tab
        _wait(driver, "#admin-unlock", "统计期锁定与解锁")
        assert "月度报表截止日后 30 天锁定" in driver.find_element(By.ID, "admin-unlock-settings").text
        driver.find_element(By.CSS_SELECTOR, "#admin-unlock-period").send_keys("2024-03")
        driver.find_element(By.CSS_SELECTOR, "#admin-unlock-reason").send_keys("3月数据更正")
        driver.find_element(By.ID, "admin-unlock-go").click()
        _wait(driver, "#admin-unlock-done", "已解锁")
        assert "3月数据更正" in _wait(driver, "#admin-unlocks", "生效中").text
        section = driver.find_element(By.ID, "admin-unlock")
        for w, h in ((1920, 1080), (1366, 768), (390, 844)):
            driver.set_window_size(w, h)
            time.sleep(0.3)
            driver.execute_script("arguments[0].scrollIntoView()", section)
            driver.save_screenshot(str(artifacts_dir / f"admin_unlock_{w}x{h}.png"))
            # the section fits the screen (its table scrolls inside its own box)
            assert driver.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth + 1", section), \
                driver.execute_script("return [arguments[0].scrollWidth, arguments[0].clientWidth]", section)
    finally:
        driver.quit()


@pytest.fixture
def answer_server(_initialised_template, tmp_path):
    """February at 93 % for 蕉城区; warnings of kind rate_jump must be answered."""
    from pipelines import db
    from pipelines.periods import parse_period
    from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
    db_path = tmp_path / "warehouse.duckdb"
    shutil.copy(_initialised_template, db_path)
    add_accounts(db_path)
    con = db.connect(db_path)
    try:
        load_rows(con, [ReturnRow(REGION_A, code, parse_period("2024-02"), 93, 100, sheet="填报表", row_number=6 + i,
                                  numerator_cell=f"C{6 + i}", denominator_cell=f"D{6 + i}")
                        for i, code in enumerate(("evoucher_activation_rate", "evoucher_settlement_rate"))],
                  SubmissionMeta("feb.xlsx", "feb-hash", "reporter_a", "web"))
        con.execute("INSERT INTO settings VALUES ('warning.must_answer', 'rate_jump')")
        path = fill_template(con, REGION_A, "2024-03", tmp_path / "蕉城区_2024年3月.xlsx", numerator=57)
    finally:
        con.close()
    with ServerProcess(db_path) as srv:
        yield srv, path, db_path


@pytest.mark.browser
def test_a_warning_is_answered_on_the_upload_page(answer_server, tmp_path, artifacts_dir):
    from selenium.webdriver.common.by import By

    from test_upload_browser import _driver, _wait
    srv, path, db_path = answer_server
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = _driver(downloads)
    try:
        driver.get(srv.url + "/upload?period=2024-03")
        driver.find_element(By.ID, "username").send_keys("reporter_a")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "login-submit").click()
        _wait(driver, "#ybjc-user", "reporter_a")
        _wait(driver, "#upload-file")
        driver.find_element(By.CSS_SELECTOR, "#upload-file input[type=file]").send_keys(str(path))
        box = _wait(driver, "#upload-answers", "必须填写说明")
        # 57 % after 93 %: both rates jump 36 pp (rate_jump, must be answered); 激活率 is a stock: it fell too
        assert "其中 2 条必须填写说明才能提交" in box.text and "填报表!C6" in box.text and "必填" in box.text
        areas = driver.find_elements(By.CSS_SELECTOR, "#upload-answers textarea")
        assert len(areas) == 3
        driver.set_window_size(1366, 768)
        driver.execute_script("arguments[0].scrollIntoView()", box)
        driver.save_screenshot(str(artifacts_dir / "upload_answers_1366x768.png"))
        _wait(driver, "#upload-confirm", "确认提交").click()
        refused = _wait(driver, "#upload-outcome", "提交失败")
        assert "请在上方填写下列警告的说明后再次点击提交" in refused.text
        assert "填报表!C6 的警告（比率较上期跳变）须填写说明后才能提交" in refused.text
        rows = driver.find_elements(By.CSS_SELECTOR, "#upload-answers .answer-row")
        for row in rows:
            if "比率较上期跳变" in row.text:
                row.find_element(By.TAG_NAME, "textarea").send_keys("3月起按新口径统计，已核实")
        _wait(driver, "#upload-confirm", "确认提交").click()
        accepted = _wait(driver, "#upload-accepted", "已接收")
        assert "2 条数据" in accepted.text
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
    finally:
        driver.quit()
    srv.__exit__(None, None, None)
    from pipelines import db
    con = db.connect(db_path)
    try:
        got = con.execute("SELECT indicator_code, kind, cell, answer, source, answered_by FROM warning_answers "
                          "ORDER BY cell, kind").fetchall()
        assert got == [("evoucher_activation_rate", "rate_jump", "C6", "3月起按新口径统计，已核实", "page", "reporter_a"),
                       ("evoucher_settlement_rate", "rate_jump", "C7", "3月起按新口径统计，已核实", "page", "reporter_a")]
        # the provenance panel shows the answers under the values behind the figure
        from dashboards.provenance import provenance_view
        from pipelines.metrics.engine import Metrics
        view = provenance_view(Metrics(con), {"region": REGION_A, "indicator": "evoucher_activation_rate",
                                              "period": "2024-03", "basis": "period"})
        text = " ".join(_texts(view))
        assert "警告及说明（1 条）" in text and "3月起按新口径统计，已核实" in text and "比率较上期跳变" in text
    finally:
        con.close()


def _texts(node) -> list[str]:
    """Every string in a Dash component tree."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, (list, tuple)):
        return [t for n in node for t in _texts(n)]
    children = getattr(node, "children", None)
    return _texts(children) if children is not None else []
