"""The bulletin from the web, in real browsers against a real `python app.py`: a viewer keeps
the overview open while an admin writes the 2024Q3 bulletin of 宁德市 on 系统管理 and
downloads Word, Excel and PDF; bad input (an issue date before the quarter ends) gets a
Chinese error and no files. Returns: the hand-made 宁德市 data of tests/bulletin_data.py."""
from __future__ import annotations

import time

import pytest

from bulletin_data import build_warehouse
from test_upload_browser import _driver, _wait
from webserver import PASSWORD, ServerProcess, add_accounts

pytestmark = pytest.mark.browser


def _login(driver, url, name):
    from selenium.webdriver.common.by import By
    driver.get(url)
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    _wait(driver, "#ybjc-user", name)


def _set(driver, element_id, text):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    box = driver.find_element(By.ID, element_id)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(text + Keys.TAB)


def test_admin_writes_and_downloads_the_bulletin_beside_an_open_overview(tmp_path):
    from selenium.webdriver.common.by import By
    db_path = tmp_path / "warehouse.duckdb"
    build_warehouse(db_path)
    add_accounts(db_path)
    viewer_dl, admin_dl = tmp_path / "v", tmp_path / "a"
    viewer_dl.mkdir()
    admin_dl.mkdir()
    with ServerProcess(db_path) as srv:
        viewer, admin = _driver(viewer_dl), _driver(admin_dl)
        try:
            _login(viewer, srv.url + "/", "viewer")
            _wait(viewer, ".page-overview")
            _login(admin, srv.url + "/admin?section=bulletin", "admin")
            _wait(admin, "#admin-bulletin", "季度通报")
            _wait(admin, "#admin-bulletin-region", "宁德市")    # the first with data is preselected
            _wait(admin, "#admin-bulletin-quarter", "2024年第三季度")
            _set(admin, "admin-bulletin-date", "2024-09-20")          # before the quarter ends
            admin.find_element(By.ID, "admin-bulletin-go").click()
            error = _wait(admin, "#admin-bulletin-error", "成文日期2024-09-20早于2024年第三季度结束")
            assert "未生成" in error.text
            _set(admin, "admin-bulletin-date", "2024-10-15")
            _set(admin, "admin-bulletin-serial", "12")
            admin.find_element(By.ID, "admin-bulletin-go").click()
            # while the server writes it, the viewer's overview is served (reload and render)
            viewer.refresh()
            _wait(viewer, ".page-overview", "期间", timeout=20)
            done = _wait(admin, "#admin-bulletin-done", "已生成2024年第三季度通报", timeout=120)
            links = done.find_elements(By.CSS_SELECTOR, "a.bulletin-file")
            assert [a.text.split("：")[0] for a in links] == ["下载Word", "下载Excel 附表", "下载PDF"]
            for a in links:
                a.click()
            deadline = time.time() + 30
            want = {".docx", ".xlsx", ".pdf"}
            while time.time() < deadline and {p.suffix for p in admin_dl.iterdir()} != want:
                time.sleep(0.2)
            assert {p.suffix for p in admin_dl.iterdir()} == want
            from docx import Document
            doc = next(admin_dl.glob("*.docx"))
            assert "宁医保发〔2024〕12号" in [p.text for p in Document(str(doc)).paragraphs]
            assert next(admin_dl.glob("*.pdf")).read_bytes()[:5] == b"%PDF-"
            viewer.refresh()
            _wait(viewer, ".page-overview", "期间")
            for driver in (viewer, admin):
                errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
                assert errors == [], errors
        finally:
            viewer.quit()
            admin.quit()
    from pipelines import db
    con = db.connect(db_path, read_only=True)
    try:
        audit = con.execute("SELECT actor, subject, outcome FROM audit_log "
                            "WHERE action = 'bulletin.export'").fetchall()
    finally:
        con.close()
    assert audit == [("admin", "350900 2024Q3", "ok")]                 # the failed try wrote nothing
