"""The 报送 flow in a real browser (Chromium via Selenium) against a real `python app.py`:
log in as a reporter, download the template, fill it with openpyxl, upload a bad file and see
the validation table, fix it, upload, confirm the warnings, see the new value on the overview."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from webserver import PASSWORD, REGION_A, ServerProcess, add_accounts

pytestmark = pytest.mark.browser


def _driver(download_dir: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1600,1000", "--lang=zh-CN"):
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                           "download.prompt_for_download": False})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow",
                                                        "downloadPath": str(download_dir)})
    return driver


def _wait(driver, css, text=None, timeout=60):
    from selenium.webdriver.common.by import By
    deadline = time.time() + timeout
    while time.time() < deadline:
        for el in driver.find_elements(By.CSS_SELECTOR, css):
            if text is None or text in el.text:
                return el
        time.sleep(0.2)
    raise AssertionError(f"{css} with {text!r} did not appear; page: {driver.find_element(By.TAG_NAME, 'body').text[:800]}")


def _fill(path: Path, out: Path, numerator, denominator):
    from openpyxl import load_workbook
    from pipelines.returns.templates import HEADER_ROW
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    r = HEADER_ROW + 1
    while ws.cell(r, 1).value:
        ws.cell(r, 3).value = numerator
        ws.cell(r, 4).value = denominator
        r += 1
    wb.save(out)
    return out


def test_reporter_uploads_a_return_in_the_browser(_initialised_template, tmp_path):
    from selenium.webdriver.common.by import By
    from pipelines import db
    from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
    from pipelines.periods import parse_period
    db_path = tmp_path / "warehouse.duckdb"
    shutil.copy(_initialised_template, db_path)
    add_accounts(db_path)
    con = db.connect(db_path)       # February already reported at 93 %: March at 57 % warns
    load_rows(con, [ReturnRow(REGION_A, code, parse_period("2024-02"), 93, 100, sheet="填报表",
                              row_number=6 + i, numerator_cell=f"C{6 + i}", denominator_cell=f"D{6 + i}")
                    for i, code in enumerate(("evoucher_activation_rate", "evoucher_settlement_rate"))],
              SubmissionMeta("feb.xlsx", "feb-hash", "reporter_a", "web"))
    con.close()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with ServerProcess(db_path) as srv:
        driver = _driver(downloads)
        try:
            driver.get(srv.url + "/upload?period=2024-03")
            assert "/login" in driver.current_url
            driver.find_element(By.ID, "username").send_keys("reporter_a")
            driver.find_element(By.ID, "password").send_keys(PASSWORD)
            driver.find_element(By.ID, "login-submit").click()
            _wait(driver, "#ybjc-user", "reporter_a")
            link = _wait(driver, "#upload-template-link")
            assert "region=350902" in link.get_attribute("href") and "period=2024-03" in link.get_attribute("href")
            link.click()
            deadline = time.time() + 30
            while time.time() < deadline and not list(downloads.glob("*.xlsx")):
                time.sleep(0.2)
            template = next(downloads.glob("*.xlsx"))
            assert template.name == "蕉城区_2024年3月_报送模板.xlsx"

            file_input = driver.find_element(By.CSS_SELECTOR, "#upload-file input[type=file]")
            bad = _fill(template, tmp_path / "蕉城区_2024年3月_有误.xlsx", 57, "一百")
            file_input.send_keys(str(bad))
            table = _wait(driver, "#upload-issues", "D6")
            assert "错误" in table.text and "填报表" in table.text
            assert "未载入任何数据" in driver.find_element(By.ID, "upload-check").text
            assert not driver.find_element(By.ID, "upload-confirm").is_displayed()

            good = _fill(template, tmp_path / "蕉城区_2024年3月.xlsx", 57, 100)
            driver.find_element(By.CSS_SELECTOR, "#upload-file input[type=file]").send_keys(str(good))
            _wait(driver, "#upload-check", "警告")
            confirm = _wait(driver, "#upload-confirm", "已核对警告，确认提交")
            assert "警告" in driver.find_element(By.ID, "upload-issues").text
            confirm.click()
            accepted = _wait(driver, "#upload-accepted", "已接收")
            assert "2 条数据" in accepted.text and "更正 0" in accepted.text
            driver.find_element(By.ID, "upload-overview-link").click()
            _wait(driver, ".page-overview", "57.0", timeout=60)
            assert "蕉城区" in driver.find_element(By.CSS_SELECTOR, ".page-overview").text
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert errors == [], errors
        finally:
            driver.quit()
