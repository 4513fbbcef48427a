"""The review cycle in a real browser (Chromium) against a real `python app.py`: a 镇街 reporter
uploads → 待审核, the overview's cell is marked → the city returns it with a comment → the
reporter sees the reason on the upload page (and the account bar) → uploads the correction,
linked to the return → the city approves it → the cell loses its mark and shows the new value."""
from __future__ import annotations

import shutil
import time

import pytest

from test_upload_browser import _driver, _wait
from webserver import PASSWORD, REGION_A, ServerProcess, add_accounts, fill_template

pytestmark = pytest.mark.browser
CITY = "350900"
IND = "evoucher_activation_rate"
CELL = f'td.hm-cell[data-region="{REGION_A}"][data-indicator="{IND}"]'


def _login(driver, url, name, path):
    from selenium.webdriver.common.by import By
    driver.delete_all_cookies()
    driver.get(url + path)
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    _wait(driver, "#ybjc-user", name)


def _cell(driver, url):
    driver.get(url + f"/?jurisdiction={CITY}&period=2024-03")
    return _wait(driver, CELL)


def _upload(driver, path):
    _wait(driver, "#upload-file input[type=file]").send_keys(str(path))
    _wait(driver, "#upload-confirm", "确认提交").click()
    return _wait(driver, "#upload-accepted", "已接收")


def _shots(driver, artifacts_dir, name):
    for w, h in ((1920, 1080), (1366, 768), (390, 844)):
        driver.set_window_size(w, h)
        time.sleep(0.4)
        driver.save_screenshot(str(artifacts_dir / f"review_{name}_{w}x{h}.png"))
    driver.set_window_size(1600, 1000)


def test_upload_return_correct_approve_in_the_browser(_initialised_template, tmp_path, artifacts_dir):
    from selenium.webdriver.common.by import By

    from pipelines import db
    from pipelines.accounts import users as accounts
    db_path = tmp_path / "warehouse.duckdb"
    shutil.copy(_initialised_template, db_path)
    add_accounts(db_path)
    con = db.connect(db_path)
    try:
        accounts.add_user(con, "city", "reporter", PASSWORD, region=CITY)
        first = fill_template(con, REGION_A, "2024-03", tmp_path / "蕉城区_2024年3月.xlsx", 80, 100)
        fixed = fill_template(con, REGION_A, "2024-03", tmp_path / "蕉城区_2024年3月_更正.xlsx", 90, 100)
    finally:
        con.close()
    with ServerProcess(db_path) as srv:
        driver = _driver(tmp_path)
        try:
            # 1. the town uploads: accepted, 待审核, the figure marked
            _login(driver, srv.url, "reporter_a", "/upload?period=2024-03")
            _upload(driver, first)
            note = _wait(driver, "#upload-review-note", "待审核")
            sid = int(note.text.split("#")[1].split()[0])
            cell = _cell(driver, srv.url)
            assert cell.get_attribute("data-unreviewed") == "true"
            assert "80.0" in cell.text and "※待审" in cell.text
            assert "含未经审核通过的数据" in cell.get_attribute("title")
            _shots(driver, artifacts_dir, "overview_marked")

            # 2. the city returns it: first without a comment (refused), then with one
            _login(driver, srv.url, "city", "/review")
            card = _wait(driver, f"#review-card-{sid}", "蕉城区_2024年3月.xlsx")
            assert "reporter_a" in card.text and "2024年3月" in card.text and "新增" in card.text
            _shots(driver, artifacts_dir, "queue")
            card.find_element(By.CSS_SELECTOR, ".review-return").click()
            _wait(driver, "#review-refused", "退回时须填写审核意见")
            assert driver.find_elements(By.ID, f"review-card-{sid}")          # nothing changed
            comment = driver.find_element(By.CSS_SELECTOR, f"#review-card-{sid} textarea")
            comment.send_keys("激活率80%与上月差距较大，请核实后重报")
            driver.find_element(By.CSS_SELECTOR, f"#review-card-{sid} .review-return").click()
            _wait(driver, "#review-done", f"已退回报送 #{sid}")
            _wait(driver, "#review-empty", "没有待审核的报送")

            # 3. the town's next login: the reason in the account bar and on the upload page
            _login(driver, srv.url, "reporter_a", "/")
            assert "/upload" in driver.current_url                  # a reporter lands on 报送
            bar = _wait(driver, "#ybjc-returned", "被审核退回")
            assert "激活率80%与上月差距较大，请核实后重报" in bar.text
            panel = _wait(driver, "#upload-returned", "激活率80%与上月差距较大，请核实后重报")
            assert f"报送 #{sid}" in panel.text and "city" in panel.text
            _shots(driver, artifacts_dir, "returned")
            cell = _cell(driver, srv.url)
            assert cell.get_attribute("data-unreviewed") == "true"         # returned: still marked

            # 4. the corrected upload answers the return
            driver.get(srv.url + "/upload?period=2024-03")
            _wait(driver, "#upload-returned")
            _upload(driver, fixed)
            note = _wait(driver, "#upload-review-note", f"更正了被退回的报送 #{sid}")
            sid2 = int(note.text.split("报送 #")[2].split()[0])
            assert sid2 > sid and "待审核" in note.text
            driver.get(srv.url + "/upload?period=2024-03")
            _wait(driver, "#upload-scope")
            assert not driver.find_elements(By.ID, "upload-returned")     # answered
            cell = _cell(driver, srv.url)
            assert "90.0" in cell.text and cell.get_attribute("data-unreviewed") == "true"

            # 5. the city approves the correction
            _login(driver, srv.url, "city", "/review")
            card = _wait(driver, f"#review-card-{sid2}", f"更正了被退回的报送 #{sid}")
            assert "激活率80%与上月差距较大" in card.text                   # the return's comment
            assert "80 / 100" in card.text                                   # the values replaced
            card.find_element(By.CSS_SELECTOR, ".review-approve").click()
            _wait(driver, "#review-done", f"已通过报送 #{sid2}")

            # 6. the figure loses its mark
            cell = _cell(driver, srv.url)
            assert cell.get_attribute("data-unreviewed") == "false"
            assert "90.0" in cell.text and "待审" not in cell.text
            driver.get(srv.url + f"/submissions?jurisdiction={CITY}&period=2024-03")
            reviews = _wait(driver, "#submissions-reviews", f"更正了被退回的报送 #{sid}")
            assert "退回" in reviews.text
        finally:
            driver.quit()
