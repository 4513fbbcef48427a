"""Region contacts through a real .xlsx round trip, the 催报 list that names them, the 催报通知
Word file, and reminder e-mails received by a real local SMTP server (aiosmtpd) — sent by the
real `python -m pipelines remind` command, once per region, period and kind.

The returns are those of test_reporting_rate: of 宁德市's ten units only 蕉城区 and 福安市 sent
anything (福安市: May late on 12 June, June early on 18 June). Monthly returns are due on the
10th of the next month; reminders go 3 days before and from 3 days after (for 30 more days).
- 2024-06-13: May (due 06-10) is 3 days late → `after` reminders for the units missing May with
  an e-mail: 福鼎市 (its contact) and 霞浦县 (its contact and its reporter). April (due 05-10) is
  34 days late, past the 3 + 30 day window; June is due in 27 days: nothing else.
- the same day again: nothing new.
- 2024-07-08: June (due 07-10) is 2 days away → `before` reminders to 蕉城区 (it sent only
  January–May), 福鼎市 and 霞浦县 (福安市 sent June early); May's `after` ones were sent already.
"""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from pipelines.accounts import users as accounts
from pipelines.workflow import contacts
from pipelines.catalog.target_sheets import SheetError
from test_reporting_rate import CITY, _year_of_returns

ROOT = Path(__file__).resolve().parent.parent


def _edit_contacts(con, path, edits: dict):
    contacts.write_contacts_sheet(con, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["联系人"]
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    for code, values in edits.items():
        r = rows.get(code) or ws.max_row + 1
        ws.cell(r, 1).value = code
        for col, v in zip((3, 4, 5), values):
            ws.cell(r, col).value = v
    wb.save(path)
    return path


def test_contacts_round_trip_with_diff_and_every_problem_at_its_cell(con, tmp_path):
    path = _edit_contacts(con, tmp_path / "c.xlsx", {
        "350982": ("张三", "0593-7851234", "fd@example.gov.cn"),
        "350921": ("李四", "0593 8881234", "xp@example.gov.cn")})
    rows = contacts.read_contacts_workbook(con, path)
    changes = contacts.diff_contacts(con, rows)
    assert [(c["change"], c["key"]) for c in changes] == [("新增", "350921"), ("新增", "350982")] or \
        sorted((c["change"], c["key"]) for c in changes) == [("新增", "350921"), ("新增", "350982")]
    contacts.apply_contacts(con, rows, "admin")
    assert contacts.contacts(con)["350982"] == {"contact": "张三", "phone": "0593-7851234",
                                                "email": "fd@example.gov.cn"}
    # the sheet written back holds them; edited again: one change, one removal
    again = _edit_contacts(con, tmp_path / "c2.xlsx", {"350982": ("王五", "0593-7851234", "fd@example.gov.cn"),
                                                       "350921": (None, None, None)})
    changes = contacts.diff_contacts(con, contacts.read_contacts_workbook(con, again))
    assert sorted((c["change"], c["key"], tuple(c["fields"])) for c in changes) == [
        ("修改", "350982", ("contact",)), ("删除", "350921", ("contact", "phone", "email"))]
    # a broken sheet: every problem with its cell, nothing changed
    wb = openpyxl.load_workbook(again)
    ws = wb["联系人"]
    ws.append(["999999", "火星区", "赵六", "0593-1", "x@example.gov.cn"])        # unknown region
    ws.append(["350982", "福鼎市", "钱七", "电话号码", "not-an-address"])         # twice, bad phone, e-mail
    n = ws.max_row
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(SheetError) as err:
        contacts.read_contacts_workbook(con, tmp_path / "bad.xlsx")
    assert [p.split(":")[0] for p in err.value.problems] == [
        f"联系人!A{n - 1}", f"联系人!A{n}", f"联系人!E{n}", f"联系人!D{n}"]
    assert contacts.contacts(con)["350982"]["contact"] == "张三"


def test_chase_list_names_contacts_and_the_notice_has_a_page_per_region(con, tmp_path):
    import datetime as dt

    import docx

    from pipelines.workflow.chase_notice import chase_notice_docx
    from pipelines.metrics import Metrics
    _year_of_returns(con)
    contacts.apply_contacts(con, contacts.read_contacts_workbook(con, _edit_contacts(
        con, tmp_path / "c.xlsx", {"350982": ("张三", "0593-7851234", "fd@example.gov.cn")})), "admin")
    m = Metrics(con, as_of=dt.datetime(2024, 6, 20, 12))
    chase = m.chase_list(CITY, 2024, "月度")
    assert len(chase) == 41                                    # the 41 missing returns of the rate test
    fd = chase[chase.region_code == "350982"]
    assert list(fd.period) == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]
    assert set(fd.contact) == {"张三"} and set(fd.phone) == {"0593-7851234"}
    assert list(fd.days_overdue) == [131, 102, 71, 41, 10]     # from 02-10, 03-10, 04-10, 05-10, 06-10
    data = chase_notice_docx(m, CITY, chase, dt.date(2024, 6, 20))
    doc = docx.Document(io.BytesIO(data))
    text = "\n".join(p.text for p in doc.paragraphs)
    regions = chase.drop_duplicates("region_code")
    assert text.count("催报通知") == len(regions) == 9         # 8 silent units + 福安市 (April)
    assert "福鼎市医疗保障局" in text and "张三" in text and "2024年5月" in text and "2024年6月10日" in text
    breaks = sum(1 for p in doc.paragraphs for r in p.runs if 'w:br w:type="page"' in r._r.xml)
    assert breaks == len(regions) - 1                          # one page per region


def _cli(db_path, *args):
    out = subprocess.run([sys.executable, "-m", "pipelines", *args, "--db", str(db_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _body(msg) -> str:
    part = msg.get_payload(decode=True) if not msg.is_multipart() else msg.get_payload(0).get_payload(decode=True)
    return part.decode(msg.get_content_charset() or "utf-8")


def test_reminders_arrive_once_with_region_period_and_deadline(con, warehouse_path, tmp_path, smtp_server):
    from email.header import decode_header, make_header
    handler, port = smtp_server
    _year_of_returns(con)
    contacts.apply_contacts(con, contacts.read_contacts_workbook(con, _edit_contacts(con, tmp_path / "c.xlsx", {
        "350982": ("张三", "0593-7851234", "fd@example.gov.cn"),
        "350921": ("李四", None, "xp@example.gov.cn"),
        "350981": ("王五", None, "fa@example.gov.cn"),          # 福安市 sent May: no reminder
        "350902": ("赵六", None, "jc@example.gov.cn")})), "admin")   # 蕉城区 on time
    accounts.add_user(con, "tb350921", "reporter", "password-1", region="350921", email="xp-tb@example.gov.cn")
    con.close()
    assert "未配置邮件服务器" in _cli(warehouse_path, "remind", "--today", "2024-06-13")   # none by default
    _cli(warehouse_path, "settings", "--set", "smtp.host=127.0.0.1", "--set", f"smtp.port={port}",
         "--set", "smtp.from=ybjc@example.gov.cn")

    first = _cli(warehouse_path, "remind", "--today", "2024-06-13")
    assert "共发送 2 封" in first, first
    got = {str(make_header(decode_header(m["Subject"]))): m for m in handler.messages}
    assert set(got) == {"【逾期催报】福鼎市 2024年5月月度报表（截止 2024-06-10）",
                        "【逾期催报】霞浦县 2024年5月月度报表（截止 2024-06-10）"}
    fd = got["【逾期催报】福鼎市 2024年5月月度报表（截止 2024-06-10）"]
    assert fd["To"] == "fd@example.gov.cn" and fd["X-RcptTo"] == "fd@example.gov.cn"
    assert "张三同志" in _body(fd) and "2024年06月10日" in _body(fd) and "宁德市医疗保障局" in _body(fd)
    xp = got["【逾期催报】霞浦县 2024年5月月度报表（截止 2024-06-10）"]
    assert set(xp["X-RcptTo"].split(", ")) == {"xp@example.gov.cn", "xp-tb@example.gov.cn"}

    again = _cli(warehouse_path, "remind", "--today", "2024-06-13")
    assert "共发送 0 封；此前已发送 2 项" in again and len(handler.messages) == 2

    later = _cli(warehouse_path, "remind", "--today", "2024-07-08")
    assert "共发送 3 封；此前已发送 2 项" in later, later
    subjects = {str(make_header(decode_header(m["Subject"]))) for m in handler.messages[2:]}
    assert len(handler.messages) == 5 and subjects == {"【截止前提醒】蕉城区 2024年6月月度报表（截止 2024-07-10）","【截止前提醒】福鼎市 2024年6月月度报表（截止 2024-07-10）",
                        "【截止前提醒】霞浦县 2024年6月月度报表（截止 2024-07-10）"}
    from pipelines.accounts import audit_log
    from pipelines import db
    con = db.connect(warehouse_path, read_only=True)
    try:
        page = audit_log.query(con, action="reminder.sent")
        region = audit_log.query(con, action="reminder.sent", region="350921")
    finally:
        con.close()
    assert page.total == 5 and region.total == 2
    assert page.rows[0][2] == "发送催报邮件" and "截止前提醒：2024年6月，截止 2024-07-10" in page.rows[0][5]


def test_what_a_reporter_owes_and_by_when(con):
    """福安市 as of 2024-06-20: last year's 12 months and 4 quarters were never sent; this year
    April (due 05-10, 41 days late) and Q1 (due 04-15, 66 days late) are missing; Q2 is due on
    07-15 (25 days left, within 45); July (due 08-10, 51 days) is too far off to list; June was in early."""
    import datetime as dt

    from pipelines.metrics import Metrics
    _year_of_returns(con)
    owed = Metrics(con, as_of=dt.datetime(2024, 6, 20, 12)).owed_by("福安市")
    late = owed[owed.status == "逾期未报"]
    assert len(late) == 12 + 4 + 2
    assert set(late[late.period.str.startswith("2024")].period) == {"2024-04", "2024Q1"}
    assert late.set_index("period").loc["2024-04", "days"] == 41
    assert late.set_index("period").loc["2024Q1", "days"] == 66
    soon = owed[owed.status == "待报送"]
    assert list(soon.period) == ["2024Q2"] and list(soon.days) == [25]
    assert str(soon.due_date.iloc[0]) == "2024-07-15"
    assert list(owed.due_date) == sorted(owed.due_date)           # by deadline
