"""Accounts on the web, in a real browser (Chromium) against one real `python app.py`:

1. the admin downloads the accounts sheet of 宁德市's units, keeps two rows, uploads a broken
   copy first (every problem listed with its cell, nothing created), then the good one, and
   confirms: the initial passwords arrive once, as a workbook;
2. an old session of reporter_a (a second client) is refused after the admin resets
   reporter_a's password in the browser;
3. one of the new reporters logs in with its initial password, is sent to change it (every
   other page sends it back there), changes it, and uploads its return;
4. meanwhile the server's reminder timer (every second here) sends 福鼎市's contact the
   reminder of its overdue monthly return to a real local SMTP server, once. The monthly due
   day is set so that the return is exactly 5 days late today (reminder.days_after 5, no
   catch-up days), so the one e-mail expected is worked out from today's date alone.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import openpyxl
import pytest

from webserver import PASSWORD, REGION_A, Client, ServerProcess, add_accounts, fill_template

pytestmark = pytest.mark.browser


def _wait_file(folder: Path, pattern: str, timeout=30) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = [p for p in folder.glob(pattern) if not p.name.endswith(".crdownload")]
        if done:
            time.sleep(0.3)
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no {pattern} in {folder}: {list(folder.iterdir())}")


def _login(driver, url, name, password):
    from selenium.webdriver.common.by import By
    driver.delete_all_cookies()
    driver.get(url + "/login")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()


def _pick(driver, dropdown_id, label):
    """Choose the option with visible text `label` in a dcc.Dropdown."""
    from selenium.webdriver.common.by import By
    driver.find_element(By.ID, dropdown_id).click()
    xpath = f"//*[@role='option' and normalize-space()='{label}']"
    deadline = time.time() + 10
    while time.time() < deadline:
        shown = [e for e in driver.find_elements(By.XPATH, xpath) if e.is_displayed()]
        if shown:
            shown[0].click()
            return
        time.sleep(0.2)
    raise AssertionError(f"option {label!r} not shown in #{dropdown_id}")


def test_batch_accounts_forced_change_upload_and_sessions_ended_by_a_reset(_initialised_template, tmp_path,
                                                                        smtp_server):
    import datetime as dt
    from email.header import decode_header, make_header

    from selenium.webdriver.common.by import By

    from pipelines.workflow import contacts
    from test_upload_browser import _driver, _wait
    db_path = tmp_path / "warehouse.duckdb"
    shutil.copy(_initialised_template, db_path)
    add_accounts(db_path)                     # viewer, reporter_a (蕉城区), reporter_b (福安市), admin
    from pipelines import db
    con = db.connect(db_path)
    mails, smtp_port = smtp_server
    due = dt.date.today() - dt.timedelta(days=5)          # the return due 5 days ago ...
    owed = due.replace(day=1) - dt.timedelta(days=1)       # ... is that of the month before
    expected = f"【逾期催报】福鼎市 {owed.year}年{owed.month}月月度报表（截止 {due:%Y-%m-%d}）"
    try:
        ret = fill_template(con, "350982", "2024-03", tmp_path / "福鼎市_2024年3月.xlsx", 90, 100)
        for key, value in (("smtp.host", "127.0.0.1"), ("smtp.port", str(smtp_port)),
                           ("smtp.from", "ybjc@example.gov.cn"), ("due_day.月度", str(due.day)),
                           ("reminder.days_after", "5"), ("reminder.days_before", "0"),
                           ("reminder.catch_up_days", "0")):
            con.execute("DELETE FROM settings WHERE key = ?", [key])
            con.execute("INSERT INTO settings VALUES (?, ?)", [key, value])
        contacts.apply_contacts(con, [{"region_code": "350982", "contact": "张三", "phone": None,
                                       "email": "fd@example.gov.cn"}], "admin")
    finally:
        con.close()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with ServerProcess(db_path, env={"YBJC_REMINDER_FIRST_S": "1", "YBJC_REMINDER_INTERVAL_S": "1"}) as srv:
        old = Client(srv.url)                 # reporter_a, logged in elsewhere
        assert old.login("reporter_a").status_code == 302
        assert old.get("/upload").status_code == 200
        viewer = Client(srv.url)              # the viewer, logged in elsewhere too
        assert viewer.login("viewer").status_code == 302 and viewer.get("/").status_code == 200
        driver = _driver(downloads)
        try:
            _login(driver, srv.url, "admin", PASSWORD)
            _wait(driver, "#ybjc-user", "admin")
            # 1. the sheet of 宁德市's units: 蕉城区 and 福安市 already have their reporters
            driver.get(srv.url + "/admin/download/accounts?jurisdiction=350900")
            sheet = _wait_file(downloads, "账户表_*.xlsx")
            wb = openpyxl.load_workbook(sheet)
            ws = wb["账户"]
            rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
            assert len(rows) == 8 and rows[0][:3] == ["tb350982", "填报员", "350982"]
            ws.delete_rows(4, ws.max_row)     # keep 福鼎市 and the next unit
            ws["E2"] = "fd@example.gov.cn"
            second = ws["A3"].value
            wb.save(tmp_path / "accounts.xlsx")
            ws["A3"] = "tb350982"             # duplicate name
            ws["B2"] = "审核员"                # no such role
            ws["C3"] = "999999"               # unknown region
            ws["E3"] = "fd-at-example"        # not an address
            wb.save(tmp_path / "accounts_bad.xlsx")

            driver.get(srv.url + "/admin")
            upload = _wait(driver, "#admin-batch-upload input[type=file]")
            upload.send_keys(str(tmp_path / "accounts_bad.xlsx"))
            problems = _wait(driver, "#admin-batch-problems", "账户!")
            cells = [li.text.split(":")[0] for li in problems.find_elements(By.TAG_NAME, "li")]
            assert cells == ["账户!B2", "账户!A3", "账户!C3", "账户!E3"], problems.text
            assert "未创建任何账户" in driver.find_element(By.ID, "admin-batch-check").text
            driver.find_element(By.CSS_SELECTOR, "#admin-batch-upload input[type=file]").send_keys(
                str(tmp_path / "accounts.xlsx"))
            _wait(driver, "#admin-batch-preview", second)
            _wait(driver, "#admin-batch-apply", "确认创建").click()
            _wait(driver, "#admin-batch-created", "已创建 2 个账户")
            handed = openpyxl.load_workbook(_wait_file(downloads, "初始密码_*.xlsx"))["初始密码"]
            passwords = {r[0].value: r[4].value for r in handed.iter_rows(min_row=2, max_row=3)}
            assert set(passwords) == {"tb350982", second}
            _wait(driver, "#admin-users", "待改初始密码")

            # 2. the admin resets reporter_a's password: its other session is ended
            _pick(driver, "admin-pick-user", "reporter_a（填报员）")
            driver.find_element(By.ID, "admin-reset").click()
            secret = _wait(driver, "#admin-secret").text.strip()
            assert len(secret) >= 8
            refused = old.get("/upload")
            assert refused.status_code == 302 and "/login" in refused.headers["Location"]
            assert old.get("/", headers={"Accept": "application/json"}).status_code == 401
            # ... and disabling the viewer ends its session; re-enabled, it logs in again
            _pick(driver, "admin-pick-user", "viewer（查看者）")
            driver.find_element(By.ID, "admin-disable").click()
            _wait(driver, "#admin-user-outcome", "已停用用户 viewer")
            assert viewer.get("/").status_code == 302
            assert Client(srv.url).login("viewer").status_code == 401
            _pick(driver, "admin-pick-user", "viewer（查看者，已停用）")
            driver.find_element(By.ID, "admin-enable").click()
            _wait(driver, "#admin-user-outcome", "已启用用户 viewer")
            assert Client(srv.url).login("viewer").status_code == 302

            # 3. a new reporter: forced to change its initial password, then uploads
            _login(driver, srv.url, "tb350982", passwords["tb350982"])
            _wait(driver, "#password-forced", "初始密码")
            driver.get(srv.url + "/upload?period=2024-03")
            assert "/password" in driver.current_url          # every page sends it back
            driver.find_element(By.ID, "old_password").send_keys(passwords["tb350982"])
            driver.find_element(By.ID, "new_password").send_keys("fuding-new-2024")
            driver.find_element(By.ID, "new_again").send_keys("fuding-new-2024")
            driver.find_element(By.ID, "password-submit").click()
            _wait(driver, "#ybjc-user", "tb350982")
            assert "/upload" in driver.current_url
            owed = _wait(driver, "#upload-owed", "本单位待报送（福鼎市")     # what it owes, by when
            assert "逾期未报" in owed.text and "截止日期" in owed.text
            _wait(driver, "#upload-file input[type=file]").send_keys(str(ret))
            _wait(driver, "#upload-confirm", "确认提交").click()
            accepted = _wait(driver, "#upload-accepted", "已接收")
            assert "2 条数据" in accepted.text
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert errors == [], errors
        finally:
            driver.quit()
        # 4. the reminder arrived once, though the timer checked every second meanwhile
        def subjects():
            return [str(make_header(decode_header(m["Subject"]))) for m in mails.messages]
        deadline = time.time() + 30
        while expected not in subjects() and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(3)
        monthly = [x for x in subjects() if "月度报表" in x]
        assert monthly == [expected], subjects()
        assert len(subjects()) == len(set(subjects()))                 # nothing went twice
        mail = next(m for m in mails.messages if str(make_header(decode_header(m["Subject"]))) == expected)
        assert mail["X-RcptTo"] == "fd@example.gov.cn"
        # the old password no longer logs in; the new one does
        assert Client(srv.url).login("tb350982", passwords["tb350982"]).status_code == 401
        assert Client(srv.url).login("tb350982", "fuding-new-2024").status_code == 302
    from pipelines.accounts import audit_log
    con = db.connect(db_path, read_only=True)
    try:
        sent = audit_log.query(con, action="reminder.sent", region="350982")
    finally:
        con.close()
    assert sent.total == len(mails.messages) and any(f"截止 {due:%Y-%m-%d}" in r[5] for r in sent.rows)
