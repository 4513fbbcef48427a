"""The audit log in words, on a real warehouse: a failed login, an accepted and a rejected
return (real .xlsx through ingest_files), account changes — named in Chinese, detailed in
sentences (no raw JSON, no hashes), filtered by user, action, region and date, paged, exported."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl

from pipelines.accounts import users as accounts, audit_log
from pipelines.returns.ingest import ingest_files
from returns_factory import long_table


def test_the_log_reads_as_sentences_and_filters(con, tmp_path):
    accounts.add_user(con, "reporter_a", "reporter", "password-1", region="350902", actor="admin")
    accounts.record_login(con, "reporter_a", "10.0.0.5", False, "bad-password")
    good = long_table(tmp_path / "蕉城.xlsx", [("蕉城区", "2024-03", "医保电子凭证激活率", 90, 100),
                                               ("蕉城区", "2024-03", "医保电子凭证结算率", 30, 100)])
    bad = long_table(tmp_path / "错.xlsx", [("蕉城区", "2024-04", "医保电子凭证激活率", "九十", 100)])
    outcomes = [ingest_files(con, [f], user="reporter_a", channel="web", archive_dir=tmp_path / "raw")[0]
                for f in (good, bad)]               # one after the other: the log's order is known
    assert [o.status for o in outcomes] == ["accepted", "rejected"]
    accounts.reset_password(con, "reporter_a", actor="admin")

    mine = audit_log.query(con, user="reporter_a")
    # newest first: reset (subject), rejected upload, accepted upload, failed login, user.add (subject)
    assert mine.total == 5
    assert [r[2] for r in mine.rows] == ["重置密码", "报送文件", "报送文件", "登录", "新建用户"]
    assert [r[4] for r in mine.rows] == ["成功", "被拒收", "已接收", "失败", "成功"]
    reset, rejected, accepted, login, added = (r[5] for r in mine.rows)
    assert login == "来自 10.0.0.5；用户名或密码错误"
    assert accepted == "经网页报送，2 条数据（新增 2、更正 0），警告 0 条"
    assert rejected.startswith("经网页报送被拒，1 个错误；首条：数据!D2") and "九十" in rejected
    assert added == "角色 填报员，地区 蕉城区" and "下次登录须修改密码" in reset
    for r in mine.rows:
        assert "{" not in r[5] and "content_hash" not in r[5] and outcomes[0].content_hash not in r[5]

    assert audit_log.query(con, action="ingest").total == 2
    assert audit_log.query(con, region="350902").total == 5           # its uploads and its user
    assert audit_log.query(con, region="350900").total == 5           # the city includes 蕉城区
    assert audit_log.query(con, region="350981").total == 0
    today = dt.date.today()
    assert audit_log.query(con, date_from=today, date_to=today).total == audit_log.query(con).total
    assert audit_log.query(con, date_to=today - dt.timedelta(days=1)).total == 0

    pages = audit_log.query(con, user="reporter_a", page=3, page_size=2)
    assert (pages.page, pages.pages, len(pages.rows)) == (3, 3, 1) and pages.rows[0][2] == "新建用户"
    assert audit_log.query(con, user="reporter_a", page=9, page_size=2).page == 3    # clamped

    book = openpyxl.load_workbook(io.BytesIO(audit_log.export_xlsx(con, user="reporter_a")))["审计日志"]
    rows = [[c.value for c in r] for r in book.iter_rows()]
    assert rows[0] == list(audit_log.COLUMNS) and len(rows) == 6
    assert rows[3][2] == "报送文件" and rows[3][5] == accepted
