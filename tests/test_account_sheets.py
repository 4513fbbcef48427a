"""Accounts in bulk from an Excel sheet, on a real warehouse with real .xlsx files: the sheet the
system writes for a jurisdiction's units, a sheet with every kind of mistake (all listed with
their cells, nothing created), and the accounts created with passwords handed over once."""
from __future__ import annotations

import io

import openpyxl
import pytest

from pipelines.accounts import account_sheets, users as accounts
from pipelines.catalog.target_sheets import SheetError

NINGDE_UNITS = ["350902", "350981", "350982", "350921", "350922", "350923", "350924", "350925",
                "350926", "350900901"]


def _sheet(path, rows, columns=account_sheets.COLUMNS):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "账户"
    ws.append(list(columns))
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def test_the_sheet_lists_every_unit_without_a_reporter(con, tmp_path):
    accounts.add_user(con, "jc", "reporter", "password-1", region="350902")
    n = account_sheets.write_accounts_sheet(con, "宁德市", tmp_path / "a.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "a.xlsx")["账户"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert n == 9 and [r[2] for r in rows] == NINGDE_UNITS[1:]          # 蕉城区 has one already
    assert rows[0] == ["tb350981", "填报员", "350981", "福安市", None]


def test_every_problem_is_listed_with_its_cell_and_nothing_is_created(con, tmp_path):
    accounts.add_user(con, "taken", "viewer", "password-1")
    path = _sheet(tmp_path / "bad.xlsx", [
        ("tb1", "填报员", "350902", "蕉城区", "ok@example.gov.cn"),
        ("tb1", "填报员", "350981", "福安市", None),               # A3: same name as row 2
        ("taken", "查看者", None, None, None),                      # A4: exists already
        ("tb4", "审核员", "350982", "福鼎市", None),               # B5: no such role
        ("tb5", "填报员", "999999", "火星区", None),               # C6: unknown region
        ("tb6", "填报员", "350921", "霞浦县", "not-an-address"),   # E7: bad e-mail
        ("tb7", "reporter", None, None, None),                     # C8: reporter without region
    ])
    before = accounts.count_users(con)
    with pytest.raises(SheetError) as err:
        account_sheets.read_accounts_workbook(con, path)
    problems = err.value.problems
    assert [p.split(":")[0] for p in problems] == ["账户!A3", "账户!A4", "账户!B5", "账户!C6",
                                                   "账户!E7", "账户!C8"]
    assert "与第 2 行重复" in problems[0] and "已存在" in problems[1] and "审核员" in problems[2]
    assert "999999" in problems[3] and "not-an-address" in problems[4] and "填报员必须" in problems[5]
    assert accounts.count_users(con) == before


def test_accounts_are_created_with_passwords_given_once_and_changed_at_first_login(con, tmp_path):
    path = _sheet(tmp_path / "ok.xlsx", [("tb350981", "填报员", "350981", "福安市", "fa@example.gov.cn"),
                                         ("tb350982", "reporter", 350982, None, None),
                                         ("leader", "查看者", None, None, None)])
    rows = account_sheets.read_accounts_workbook(con, path)
    created = account_sheets.create_accounts(con, rows, actor="admin")
    book = openpyxl.load_workbook(io.BytesIO(account_sheets.passwords_xlsx(con, created)))["初始密码"]
    handed = {r[0].value: r[4].value for r in book.iter_rows(min_row=2, max_row=4)}
    assert set(handed) == {"tb350981", "tb350982", "leader"}
    user = accounts.authenticate(con, "tb350982", handed["tb350982"])
    assert user is not None and user.role == "reporter" and user.region_code == "350982"
    assert user.must_change and accounts.get_user(con, "tb350981").email == "fa@example.gov.cn"
    changed = accounts.change_own_password(con, "tb350982", handed["tb350982"], "a-new-pass-9")
    assert not changed.must_change and changed.session_gen == user.session_gen + 1
    with pytest.raises(accounts.AccountError, match="当前密码不正确"):
        accounts.change_own_password(con, "tb350982", "wrong-one", "another-pass-9")
    # the same sheet again: every name is taken now, nothing more is created
    with pytest.raises(SheetError) as err:
        account_sheets.read_accounts_workbook(con, path)
    assert len(err.value.problems) == 3 and accounts.count_users(con) == 3


def test_reset_and_disable_end_sessions_and_enable_restores_login(con):
    accounts.add_user(con, "u1", "viewer", "password-1")
    gen = accounts.get_user(con, "u1").session_gen
    fresh = accounts.reset_password(con, "u1", actor="admin")
    assert accounts.authenticate(con, "u1", "password-1") is None
    u = accounts.authenticate(con, "u1", fresh)
    assert u.must_change and u.session_gen == gen + 1
    accounts.create_token(con, "u1", actor="admin")
    assert accounts.disable_user(con, "u1", actor="admin") == 1
    assert accounts.authenticate(con, "u1", fresh) is None
    assert accounts.get_user(con, "u1").session_gen == gen + 2
    accounts.enable_user(con, "u1", actor="admin")
    assert accounts.authenticate(con, "u1", fresh) is not None


def test_migration_5_keeps_existing_users_able_to_log_in(tmp_path):
    """A warehouse of the last release (migrations 1–4) with a user: after migration 5 the user
    logs in as before, needs no password change and has session generation 0."""
    import duckdb

    from pipelines import db
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    try:
        con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description VARCHAR, "
                    "applied_at TIMESTAMP DEFAULT current_timestamp)")
        for version, description, sql in db.MIGRATIONS[:4]:
            con.execute(sql)
            con.execute("INSERT INTO schema_version (version, description) VALUES (?, ?)", [version, description])
        con.execute("INSERT INTO users VALUES ('old', 'viewer', NULL, ?, FALSE, TIMESTAMP '2024-01-01')",
                    [accounts.hash_password("old-password")])
        assert db.migrate(con) == [v for v, _, _ in db.MIGRATIONS if v >= 5]   # 5 and any later one
        user = accounts.authenticate(con, "old", "old-password")
        assert user is not None and not user.must_change and user.session_gen == 0 and user.email is None
        assert con.execute("SELECT value FROM settings WHERE key = 'reminder.days_before'").fetchone() == ("3",)
    finally:
        con.close()
