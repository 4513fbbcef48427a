"""Passwords by werkzeug (old hashes rehashed at login) and login throttling through a real
server: per account and address, per address across accounts, atomic under concurrency."""
from __future__ import annotations

import base64
import hashlib
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipelines.accounts import users as accounts
from webserver import PASSWORD, Client, ServerProcess, add_accounts


def _legacy_hash(password: str, salt: bytes) -> str:
    """The format this system wrote before werkzeug's: scrypt$N$r$p$salt$hash (base64)."""
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2 ** 14, r=8, p=1, dklen=32)
    return f"scrypt${2 ** 14}$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_new_hashes_are_werkzeugs_and_old_ones_are_replaced_at_the_next_login(con):
    accounts.add_user(con, "li", "viewer", "first-password")
    stored = con.execute("SELECT password_hash FROM users WHERE name = 'li'").fetchone()[0]
    assert stored.startswith("scrypt:32768:8:1$")            # werkzeug.security's format
    old = _legacy_hash("old-password-1", b"0123456789abcdef")
    con.execute("UPDATE users SET password_hash = ? WHERE name = 'li'", [old])
    assert accounts.authenticate(con, "li", "wrong-password") is None
    assert con.execute("SELECT password_hash FROM users WHERE name = 'li'").fetchone()[0] == old
    assert accounts.authenticate(con, "li", "old-password-1").name == "li"
    new = con.execute("SELECT password_hash FROM users WHERE name = 'li'").fetchone()[0]
    assert new != old and new.startswith("scrypt:32768:8:1$")
    assert accounts.authenticate(con, "li", "old-password-1").name == "li"
    assert accounts.authenticate(con, "li", "old-password-2") is None


def test_the_three_limits_count_what_they_say(con):
    for _ in range(accounts.THROTTLE_FAILURES):
        accounts.record_login(con, "li", "10.0.0.1", False)
    assert accounts.login_lock(con, "li", "10.0.0.1") == "user_ip"
    assert accounts.login_lock(con, "li", "10.0.0.2") is None
    for i in range(accounts.ADDRESS_FAILURES - accounts.THROTTLE_FAILURES):
        accounts.record_login(con, f"user{i}", "10.0.0.1", False)
    assert accounts.login_lock(con, "wang", "10.0.0.1") == "address"     # a name never tried
    assert accounts.login_lock(con, "wang", "10.0.0.9") is None
    for i in range(accounts.ACCOUNT_FAILURES - accounts.THROTTLE_FAILURES):
        accounts.record_login(con, "li", f"10.1.0.{i}", False)
    assert accounts.login_lock(con, "li", "10.2.0.1") == "account"
    accounts.record_login(con, "li", "10.2.0.2", True)                   # a success ends it
    assert accounts.login_lock(con, "li", "10.2.0.1") is None


@pytest.fixture
def server(_initialised_template, tmp_path):
    db_path = tmp_path / "warehouse.duckdb"
    shutil.copy(_initialised_template, db_path)
    add_accounts(db_path)
    with ServerProcess(db_path) as srv:
        yield srv


def test_one_address_trying_many_accounts_is_locked_out(server):
    client = Client(server.url)
    codes = [client.login(f"guess{i}", "wrong-password").status_code
             for i in range(accounts.ADDRESS_FAILURES)]
    assert codes == [401] * accounts.ADDRESS_FAILURES
    locked = Client(server.url).login("viewer", PASSWORD)             # right password, same address
    assert locked.status_code == 429 and "本机登录失败次数过多" in locked.text


def test_concurrent_attempts_cannot_slip_past_the_limit(server):
    def attempt(_):
        return Client(server.url).login("reporter_a", "wrong-password").status_code
    with ThreadPoolExecutor(12) as pool:
        codes = sorted(pool.map(attempt, range(12)))
    # exactly THROTTLE_FAILURES attempts were judged on the password; every later one was refused
    assert codes.count(401) == accounts.THROTTLE_FAILURES and codes.count(429) == 12 - accounts.THROTTLE_FAILURES
    assert Client(server.url).login("reporter_a", PASSWORD).status_code == 429
