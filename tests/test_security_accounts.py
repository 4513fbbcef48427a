"""Accounts on a real warehouse: password hashing, roles, scope, tokens, throttling, CLI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.accounts import users as accounts

ROOT = Path(__file__).resolve().parent.parent


def test_passwords_are_hashed_by_werkzeug_salted_and_verified(con):
    accounts.add_user(con, "zhang", "viewer", "correct horse")
    stored = con.execute("SELECT password_hash FROM users WHERE name = 'zhang'").fetchone()[0]
    assert stored.startswith("scrypt:32768:8:1$") and "correct horse" not in stored
    assert accounts.hash_password("correct horse") != accounts.hash_password("correct horse")
    assert accounts.authenticate(con, "zhang", "correct horse").role == "viewer"
    assert accounts.authenticate(con, "zhang", "correct hors") is None
    assert accounts.authenticate(con, "nobody", "correct horse") is None
    accounts.set_password(con, "zhang", "battery staple")
    assert accounts.authenticate(con, "zhang", "correct horse") is None
    assert accounts.authenticate(con, "zhang", "battery staple") is not None
    accounts.disable_user(con, "zhang")
    assert accounts.authenticate(con, "zhang", "battery staple") is None
    actions = [r[0] for r in con.execute(
        "SELECT action FROM audit_log WHERE subject = 'zhang' ORDER BY audit_id").fetchall()]
    assert actions == ["user.add", "user.passwd", "user.disable"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="a", role="boss", password="12345678"), "角色“boss”无效"),
    (dict(name="a", role="reporter", password="12345678"), "填报员必须指定所属地区"),
    (dict(name="a", role="reporter", password="12345678", region="火星"), "未知地区“火星”"),
    (dict(name="a", role="viewer", password="short"), "密码至少需要 8 个字符"),
    (dict(name="a b", role="viewer", password="12345678"), "用户名不能为空、不能含空格"),
])
def test_bad_accounts_are_refused_in_chinese(con, kwargs, message):
    with pytest.raises(accounts.AccountError, match=message):
        accounts.add_user(con, **kwargs)
    assert accounts.count_users(con) == 0


def test_reporter_scope_is_its_region_and_below(con):
    ningde = accounts.add_user(con, "nd", "reporter", "12345678", region="宁德市")
    jiaocheng = accounts.add_user(con, "jc", "reporter", "12345678", region="350902")
    admin = accounts.add_user(con, "root", "admin", "12345678")
    viewer = accounts.add_user(con, "v", "viewer", "12345678")
    nd_scope = accounts.allowed_regions(con, ningde)
    assert len(nd_scope) == 11 and {"350900", "350902", "350900901"} <= nd_scope
    assert "331081" not in nd_scope
    assert accounts.allowed_regions(con, jiaocheng) == {"350902"}
    assert accounts.allowed_regions(con, admin) is None
    assert accounts.allowed_regions(con, viewer) == set()
    assert [accounts.can_submit(u) for u in (ningde, admin, viewer)] == [True, True, False]


def test_tokens_are_stored_hashed_and_revocable(con):
    accounts.add_user(con, "api", "reporter", "12345678", region="350902")
    t1, t2 = accounts.create_token(con, "api"), accounts.create_token(con, "api")
    assert t1 != t2 and t1.startswith("ybjc_") and len(t1) > 40
    stored = {r[0] for r in con.execute("SELECT token_hash FROM api_tokens").fetchall()}
    assert t1 not in stored and len(stored) == 2
    assert accounts.user_for_token(con, t1).name == "api"
    assert accounts.user_for_token(con, t1 + "x") is None
    assert accounts.user_for_token(con, "") is None
    assert accounts.revoke_tokens(con, "api") == 2
    assert accounts.user_for_token(con, t1) is None and accounts.user_for_token(con, t2) is None
    t3 = accounts.create_token(con, "api")
    assert accounts.user_for_token(con, t3) is not None
    accounts.disable_user(con, "api")
    assert accounts.user_for_token(con, t3) is None


def test_login_throttle_counts_failures_per_user_and_ip(con):
    accounts.add_user(con, "li", "viewer", "12345678")
    for _ in range(accounts.THROTTLE_FAILURES - 1):
        accounts.record_login(con, "li", "10.0.0.1", False)
    assert not accounts.login_locked(con, "li", "10.0.0.1")
    accounts.record_login(con, "li", "10.0.0.1", False)
    assert accounts.login_locked(con, "li", "10.0.0.1")
    assert not accounts.login_locked(con, "li", "10.0.0.2")      # another machine
    assert not accounts.login_locked(con, "wang", "10.0.0.1")    # another account
    # failures older than the window no longer count
    con.execute("UPDATE audit_log SET logged_at = logged_at - INTERVAL 16 MINUTE WHERE action = 'login'")
    assert not accounts.login_locked(con, "li", "10.0.0.1")
    # a success resets the count
    for _ in range(4):
        accounts.record_login(con, "li", "10.0.0.3", False)
    accounts.record_login(con, "li", "10.0.0.3", True)
    accounts.record_login(con, "li", "10.0.0.3", False)
    assert not accounts.login_locked(con, "li", "10.0.0.3")


def _cli(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "pipelines", "users", *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_users_command_line(warehouse_path):
    db = ["--db", str(warehouse_path)]
    first = _cli("ensure-admin", *db)
    assert first.returncode == 0 and "初始密码" in first.stdout
    password = first.stdout.strip().rsplit("：", 1)[1]
    again = _cli("ensure-admin", *db)
    assert again.returncode == 0 and again.stdout == ""
    r = _cli("add", *db, "--name", "fa", "--role", "reporter", "--region", "福安", stdin="pass-word-1\n")
    assert r.returncode == 0 and "350981" in r.stdout, r.stderr
    dup = _cli("add", *db, "--name", "fa", "--role", "viewer", stdin="pass-word-1\n")
    assert dup.returncode == 2 and "已存在" in dup.stderr
    token = _cli("token", *db, "--name", "fa").stdout.strip()
    assert _cli("passwd", *db, "--name", "fa", stdin="new-pass-2\n").returncode == 0
    assert "吊销用户 fa 的 1 个" in _cli("revoke-tokens", *db, "--name", "fa").stdout
    assert _cli("disable", *db, "--name", "fa").returncode == 0
    assert _cli("token", *db, "--name", "fa").returncode == 2
    from pipelines import db as wdb
    con = wdb.connect(warehouse_path)
    try:
        assert accounts.authenticate(con, "admin", password).role == "admin"
        assert accounts.user_for_token(con, token) is None
        assert accounts.authenticate(con, "fa", "new-pass-2") is None          # disabled
        row = con.execute("SELECT role, region_code, disabled FROM users WHERE name = 'fa'").fetchone()
        assert row == ("reporter", "350981", True)
    finally:
        con.close()
