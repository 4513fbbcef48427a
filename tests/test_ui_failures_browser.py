"""Every failure says so, in Chinese (issue 15): files the upload page refuses, a lost server,
URL parameters that cannot be used, an unknown address. Real `python app.py`, real Chromium."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest
import requests

from browser_kit import chromium, login, settled, severe_logs, wait
from webserver import ServerProcess, add_accounts

pytestmark = pytest.mark.browser

# What a file really is → the sentence pipelines/returns/file_formats.py says about it.
REFUSED = [
    ("报表.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096, "旧版 Excel 97-2003 (.xls)"),
    ("报表.csv", "地区,指标,分子,分母\n蕉城区,电子凭证激活率,90,100\n".encode("utf-8"), "文本/CSV 文件"),
    ("扫描件.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "PDF 文件"),
    ("改了扩展名.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 512, "图片文件"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory, _initialised_template):
    path = tmp_path_factory.mktemp("failures") / "warehouse.duckdb"
    shutil.copy(_initialised_template, path)
    add_accounts(path)
    with ServerProcess(path) as srv:
        yield srv


@pytest.fixture(scope="module")
def driver(server):
    d = chromium()
    login(d, server.url, "reporter_a")
    yield d
    d.quit()


@pytest.mark.parametrize("name,data,phrase", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_file_types_say_why(server, driver, tmp_path, name, data, phrase):
    from selenium.webdriver.common.by import By
    from pipelines.returns.ooxml_package import ACCEPTED
    driver.get(server.url + "/upload?period=2024-03")
    wait(driver, "#upload-file")
    settled(driver)
    path = tmp_path / name
    path.write_bytes(data)
    driver.find_element(By.CSS_SELECTOR, "#upload-file input[type=file]").send_keys(str(path))
    shown = wait(driver, "#upload-check", phrase, timeout=60)
    # The file named, nothing loaded, the same sentence as the API's, and how to fix it.
    assert name in shown.text and "未载入任何数据" in shown.text, shown.text
    assert "另存为" in shown.text and ACCEPTED.split("（")[0] in shown.text, shown.text
    assert not driver.find_element(By.ID, "upload-confirm").is_displayed()
    assert severe_logs(driver) == []


def test_lost_server_banner_comes_and_goes(tmp_path, _initialised_template):
    """kill -9 the server under an open page: a Chinese banner within seconds; start it again on
    the same port: the banner goes and the page's callbacks answer again."""
    from selenium.webdriver.common.by import By
    from dashboards.ids import SHELL_CONNECTION
    from dashboards.shell import CONNECTION_LOST
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(_initialised_template, path)
    add_accounts(path)
    first = ServerProcess(path).__enter__()
    d = chromium()
    try:
        login(d, first.url, "viewer")
        d.get(first.url + "/targets?jurisdiction=350900")
        wait(d, "#targets-table")
        banner = d.find_element(By.ID, SHELL_CONNECTION)
        assert not banner.is_displayed()
        time.sleep(4)                                   # a few checks while the server is up
        assert not banner.is_displayed()
        first.proc.kill()                               # the server is gone, not stopped politely
        first.proc.wait(10)
        shown = wait(d, f"#{SHELL_CONNECTION}", "连接已中断", timeout=15)
        assert shown.text == CONNECTION_LOST
        top = d.execute_script(f"return document.getElementById('{SHELL_CONNECTION}').getBoundingClientRect().top")
        assert top == 0                                  # on top of the page, in view
        again = ServerProcess(path)
        again.port, again.url = first.port, first.url    # the same address comes back
        with again:
            deadline = time.time() + 20
            while time.time() < deadline and d.find_element(By.ID, SHELL_CONNECTION).is_displayed():
                time.sleep(0.3)
            assert not d.find_element(By.ID, SHELL_CONNECTION).is_displayed()
            # The session survives (its secret is in the warehouse): a page callback answers.
            d.find_element(By.CSS_SELECTOR, ".nav-link[href^='/submissions']").click()
            wait(d, "#submissions-matrix, .page-submissions .empty-state", timeout=30)
        allowed = ("Failed to fetch", "ERR_CONNECTION_REFUSED", "_alive", "_dash-update-component")
        assert severe_logs(d, allowed) == []
    finally:
        d.quit()
        first.log.close()


BAD_URLS = [
    ("period=garbage", "/?jurisdiction=350900&period=garbage", "period=“garbage”", "period"),
    ("period=2025-13", "/indicator?jurisdiction=350900&period=2025-13", "period=“2025-13”", "period"),
    ("unknown region", "/?jurisdiction=999999&period=2024Q2", "jurisdiction=“999999”", "jurisdiction"),
    ("as_of=2099", "/district?jurisdiction=350900&period=2024Q2&as_of=2099-01-01T00:00",
     "as_of=“2099-01-01T00:00”", "as_of"),
]


@pytest.mark.parametrize("what,path,said,key", BAD_URLS, ids=[b[0] for b in BAD_URLS])
def test_bad_url_parameters_are_said_with_the_corrected_address(server, driver, what, path, said, key):
    from urllib.parse import parse_qs
    from selenium.webdriver.common.by import By
    driver.get(server.url + path)
    notice = wait(driver, "#url-notice", said, timeout=40)
    assert "网址中的参数有误" in notice.text and "已" in notice.text, notice.text
    fixed = notice.find_element(By.CSS_SELECTOR, "a.url-fixed")
    href = urlparse(fixed.get_attribute("href"))
    asked = urlparse(server.url + path)
    assert href.path == asked.path and fixed.text == href.path + ("?" + href.query if href.query else "")
    query = parse_qs(href.query)
    from pipelines.periods import parse_period
    assert query["jurisdiction"][0] != "999999" and "as_of" not in query, query
    assert parse_period(query["period"][0]).code == query["period"][0], query   # a real period
    # The corrected address shows the same view without a notice.
    fixed.click()
    settled(driver)
    wait(driver, ".page-body")
    time.sleep(0.5)
    assert not [e for e in driver.find_elements(By.ID, "url-notice") if e.is_displayed()]
    assert urlparse(driver.current_url).query == href.query


@pytest.fixture(scope="module")
def admin_driver(server):
    d = chromium()
    login(d, server.url, "admin")
    yield d
    d.quit()


def test_unknown_address_is_a_chinese_404(server, admin_driver):
    d = admin_driver
    d.get(server.url + "/no-such-page?x=1")
    title = wait(d, "#not-found-title", "页面不存在")
    text = d.find_element("css selector", ".page-not-found").text
    assert "网址" in text and "404" not in text and "Page not found" not in d.page_source
    assert d.title == "页面不存在 · 医保便民服务指标监测"
    links = [a.text for a in d.find_elements("css selector", ".not-found-links a")]
    assert links == ["总览", "指标", "地区", "报送", "目标"], links
    assert title.is_displayed() and severe_logs(d) == []


def test_dash_controls_speak_chinese(server, admin_driver):
    """A multi-select with two regions chosen, its search and the empty picker: no English."""
    d = admin_driver
    d.get(server.url + "/indicator?jurisdiction=350900&period=2024Q2&indicator=evoucher_activation_rate"
          "&region=350902,350981")
    box = wait(d, "#indicator-regions")
    settled(d)
    shown = box.text
    assert "selected" not in shown.lower() and "select" not in shown.lower(), shown
    assert "已选 2 项" in shown and "蕉城区" in shown and "福安市" in shown, shown
    box.click()                                    # open it: its search box and buttons
    time.sleep(0.5)
    menu_text = d.execute_script("return document.body.innerText")
    placeholders = d.execute_script(
        "return [...document.querySelectorAll('input')].map(i => i.placeholder).filter(Boolean)")
    for word in ("Select All", "Deselect All", "Search", "No options found", "Select..."):
        assert word not in menu_text and word not in placeholders, (word, placeholders)


def test_texts_in_words_not_keys(server, driver, admin_driver):
    """截止日 without the setting's key; a reporter's scope by name; the audit log in words."""
    from selenium.webdriver.common.by import By
    d = admin_driver
    d.get(server.url + "/submissions?jurisdiction=350900&period=2024Q2")
    note = wait(d, ".page-submissions .note", "截止日")
    assert "due_day" not in d.find_element(By.CSS_SELECTOR, ".page-submissions").text, note.text
    # The reporter of 蕉城区 (350902) sees its region's name, never the code alone.
    driver.get(server.url + "/upload")
    scope = wait(driver, "#upload-scope", "蕉城区")
    assert "350902" not in scope.text
    assert "蕉城区" in driver.find_element(By.ID, "ybjc-user").text
    assert "350902" not in driver.find_element(By.ID, "ybjc-user").text
    # The admin's audit log: the logins above as 登录 / 成功, no JSON, no hashes.
    d.get(server.url + "/admin?section=audit-log")          # the admin page's audit section
    table = wait(d, "#admin-audit-table", "登录", timeout=60)
    text = table.text
    assert "成功" in text and "login" not in text and "success" not in text, text[:400]
    assert "{" not in text and not re.search(r"\b[0-9a-f]{16,}\b", text), text[:400]


def test_a_file_over_the_size_limit_is_said_not_dropped(server, driver, tmp_path):
    """The upload box drops a file over 20 MB before any callback: the page says so."""
    from selenium.webdriver.common.by import By
    limit = 20 * 1024 * 1024                        # the page's hint: 不超过 20 MB
    driver.get(server.url + "/upload?period=2024-03")
    wait(driver, "#upload-file")
    settled(driver)
    hidden_note = driver.find_element(By.ID, "upload-size-note")
    assert hidden_note.get_attribute("data-max-bytes") == str(limit) and not hidden_note.is_displayed()
    big = tmp_path / "全年汇总.xlsx"
    big.write_bytes(b"PK\x03\x04" + b"\x00" * (limit + 1024 * 1024 - 4))   # 21.0 MB
    driver.find_element(By.CSS_SELECTOR, "#upload-file input[type=file]").send_keys(str(big))
    note = wait(driver, "#upload-size-note", "超过 20 MB", timeout=30)
    assert "全年汇总.xlsx" in note.text and "21.0 MB" in note.text and "拆成" in note.text, note.text
    assert not driver.find_element(By.ID, "upload-confirm").is_displayed()
    # A file within the limit clears the note (and goes to the server's check as before).
    small = tmp_path / "扫描件.pdf"
    small.write_bytes(b"%PDF-1.4\n%%EOF\n")
    driver.find_element(By.CSS_SELECTOR, "#upload-file input[type=file]").send_keys(str(small))
    wait(driver, "#upload-check", "PDF 文件", timeout=60)
    assert not driver.find_element(By.ID, "upload-size-note").is_displayed()
    assert severe_logs(driver) == []
