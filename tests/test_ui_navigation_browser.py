"""Navigation by role and the admin page in sections (issue 15), in a real Chromium against a
real `python app.py`: links only to pages the user may open (security.PATH_RULES), the admin
page one section at a time with the audit log paged and filtered, the district page opening on
its gaps."""
from __future__ import annotations

import shutil

import pytest

from browser_kit import chromium, login, settled, severe_logs, viewport, wait
from webserver import ServerProcess, add_accounts

pytestmark = pytest.mark.browser
ALL_PAGES = ["总览", "指标", "地区", "报送", "目标", "上传", "管理"]
INTRUDER_LINES = 75                 # failed logins of one name: the log needs two pages (50 each)


@pytest.fixture(scope="module")
def server(tmp_path_factory, _initialised_template):
    from pipelines import db
    from pipelines.accounts.users import record_login
    path = tmp_path_factory.mktemp("navigation") / "warehouse.duckdb"
    shutil.copy(_initialised_template, path)
    add_accounts(path)
    con = db.connect(path)
    for i in range(INTRUDER_LINES):
        record_login(con, "intruder", f"10.0.0.{i % 7}", False, "bad-password")
    con.close()
    with ServerProcess(path) as srv:
        yield srv


def _nav(d) -> list[str]:
    wait(d, "#nav .nav-link")
    settled(d)
    return [a.text for a in d.find_elements("css selector", "#nav .nav-link")]


@pytest.mark.parametrize("role,pages,bar", [
    ("viewer", ALL_PAGES[:5], []),
    ("reporter_a", ALL_PAGES[:6], ["数据报送"]),
    ("admin", ALL_PAGES, ["数据报送", "数据审核", "系统管理"]),
])
def test_links_only_to_pages_the_user_may_open(server, role, pages, bar):
    import requests
    d = chromium()
    try:
        login(d, server.url, role)
        d.get(server.url + "/targets?jurisdiction=350900")
        assert _nav(d) == pages
        shown_bar = [a.text for a in d.find_elements("css selector", "#ybjc-account a")
                     if a.text != "修改密码"]
        assert shown_bar == bar
        # Every link shown opens (no 403 page behind any of them).
        cookies = {c["name"]: c["value"] for c in d.get_cookies()}
        for a in d.find_elements("css selector", "#nav .nav-link, #ybjc-account a"):
            r = requests.get(a.get_attribute("href"), cookies=cookies, allow_redirects=False, timeout=30)
            assert r.status_code == 200, (role, a.get_attribute("href"), r.status_code)
        assert severe_logs(d) == []
    finally:
        d.quit()


def test_admin_page_in_sections_with_a_paged_filtered_audit_log(server, artifacts_dir):
    from selenium.webdriver.common.by import By
    d = chromium()
    try:
        login(d, server.url, "admin")
        viewport(d, "1920")
        d.get(server.url + "/admin")
        tabs = wait(d, "#admin-sections")
        names = [a.text for a in tabs.find_elements(By.CSS_SELECTOR, ".section-tab")]
        assert names[:4] == ["用户与账户", "目标、地区与联系人", "审计日志", "季度通报"], names
        visible = [s.get_attribute("id") for s in d.find_elements(By.CSS_SELECTOR, ".page-admin section")
                   if s.is_displayed()]
        assert visible == ["admin-users"], visible
        height = d.execute_script("return document.scrollingElement.scrollHeight")
        assert height < 3000, height                 # one section, not 19,500 px of everything
        d.find_element(By.ID, "admin-tab-audit-log").click()
        info = wait(d, "#admin-audit-pageinfo", "第 1 /")
        assert "section=audit-log" in d.current_url
        visible = [s.get_attribute("id") for s in d.find_elements(By.CSS_SELECTOR, ".page-admin section")
                   if s.is_displayed()]
        assert visible == ["admin-audit-log"], visible
        total = int(info.text.split("共 ")[1].split(" 条")[0])
        assert total >= INTRUDER_LINES + 1 and "/ 2 页" in info.text, info.text   # 50 a page
        rows = d.find_elements(By.CSS_SELECTOR, "#admin-audit-table tbody tr")
        assert len(rows) == 50
        d.save_screenshot(str(artifacts_dir / "admin_audit_1920.png"))
        d.find_element(By.CSS_SELECTOR, "#admin-audit button:nth-of-type(2)").click()  # 下一页
        wait(d, "#admin-audit-pageinfo", "第 2 / 2 页")
        assert len(d.find_elements(By.CSS_SELECTOR, "#admin-audit-table tbody tr")) == total - 50
        # Filter by user: only the intruder's failed logins, in words.
        d.find_element(By.CSS_SELECTOR, "#admin-audit-user").click()
        option = wait(d, "[role=option]", "intruder", timeout=10)
        option.click()
        info = wait(d, "#admin-audit-pageinfo", f"共 {INTRUDER_LINES} 条")
        text = d.find_element(By.ID, "admin-audit-table").text
        assert text.count("用户名或密码错误") == 50 and "失败" in text and "成功" not in text
        assert severe_logs(d) == []
    finally:
        d.quit()


def test_district_page_opens_on_its_gaps(server):
    from selenium.webdriver.common.by import By
    d = chromium()
    try:
        login(d, server.url, "viewer")
        viewport(d, "1366")
        d.get(server.url + "/indicator?jurisdiction=350900&period=2024Q2&indicator=evoucher_activation_rate")
        wait(d, "#nav .nav-link")
        settled(d)
        link = next(a for a in d.find_elements(By.CSS_SELECTOR, "#nav .nav-link") if a.text == "地区")
        assert "indicator=" not in link.get_attribute("href")
        # Even asked for an indicator's records, the page opens on the gaps; the records are below.
        d.get(server.url + "/district?jurisdiction=350900&period=2024Q2&indicator=evoucher_activation_rate")
        first = wait(d, ".page-district .section-title")
        assert first.text.startswith("各指标差距"), first.text
        prov = d.find_elements(By.ID, "district-provenance")
        if prov:
            gaps_top = d.execute_script("return document.querySelector('.page-district .section-title').getBoundingClientRect().top")
            assert prov[0].rect["y"] > gaps_top
        assert d.execute_script("return scrollY") == 0
    finally:
        d.quit()
