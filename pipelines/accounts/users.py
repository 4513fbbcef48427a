"""Accounts: users and roles, password hashing (werkzeug), API tokens, login throttling.

- Passwords are hashed by werkzeug.security (scrypt, random salt, constant-time check). Hashes
  of the format before it (`scrypt$N$r$p$salt$hash`, written by this module until 2026-12) still
  verify, and are replaced by werkzeug's at the next successful login (`authenticate`).
- API tokens are random (256 bits), shown once, and stored only as their SHA-256; revocable.
- Login throttling needs no state of its own: failures are audit-log lines (action 'login',
  outcome 'failure', detail.ip). Three limits, each over the last THROTTLE_MINUTES: an account
  on one address (THROTTLE_FAILURES since its last success there), one address across every
  account (ADDRESS_FAILURES: one machine trying many names), one account across every address
  (ACCOUNT_FAILURES since its last success). Also across server restarts. The server checks
  and records an attempt under one lock, so concurrent attempts cannot slip past a limit.
- A reporter's scope is its region and every region below it; admins and viewers see all
  regions, only admins and reporters may submit returns.
Every change is written to the audit log (pipelines.db.audit). Messages are Chinese.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from pipelines import db

ROLES = ("admin", "reporter", "viewer")
ROLE_LABELS = {"admin": "管理员", "reporter": "填报员", "viewer": "查看者"}
MIN_PASSWORD = 8
THROTTLE_FAILURES = 5           # one account on one address
ADDRESS_FAILURES = 20           # one address, any accounts
ACCOUNT_FAILURES = 20           # one account, any addresses
THROTTLE_MINUTES = 15
TOKEN_PREFIX = "ybjc_"
_MAXMEM = 64 * 1024 * 1024


class AccountError(ValueError):
    """A user-facing account problem; the message is Chinese and says how to fix it."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    region_code: str | None
    disabled: bool
    created_at: dt.datetime | None = None
    must_change: bool = False          # an initial or reset password: change it at next login
    session_gen: int = 0               # sessions signed with another generation are refused
    email: str | None = None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


# --- passwords -----------------------------------------------------------------------------

def hash_password(password: str) -> str:
    """werkzeug's `scrypt:N:r:p$salt$hash`."""
    from werkzeug.security import generate_password_hash
    return generate_password_hash(password)


def _is_legacy(stored: str) -> bool:
    """A hash of the format before werkzeug's (`scrypt$N$r$p$salt$hash`, base64)."""
    return stored.startswith("scrypt$")


def _verify_legacy(stored: str, password: str) -> bool:
    """Only to read hashes written before werkzeug's: replaced at their next login."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), maxmem=_MAXMEM, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def verify_password(stored: str, password: str) -> bool:
    if _is_legacy(stored):
        return _verify_legacy(stored, password)
    from werkzeug.security import check_password_hash
    try:
        return check_password_hash(stored, password)
    except (ValueError, TypeError):
        return False


def needs_rehash(stored: str) -> bool:
    return _is_legacy(stored)


def _dummy_verify(password: str) -> None:
    """Spend the same time for an unknown user as for a known one (no user enumeration)."""
    from werkzeug.security import check_password_hash
    check_password_hash(_DUMMY_HASH, password)


# werkzeug's hash of a random password, with its default cost (what a real check spends)
_DUMMY_HASH = "scrypt:32768:8:1$Q3sZ0mY9bWl1cTqf$" + "0" * 128


def _check_password(password: str) -> None:
    if password is None or len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少需要 {MIN_PASSWORD} 个字符，请换一个更长的密码")
    if password.strip() != password:
        raise AccountError("密码首尾不能有空格或换行，请重新输入")


# --- users ---------------------------------------------------------------------------------

_USER_COLUMNS = ("u.name, u.role, u.region_code, u.disabled, u.created_at, "
                 "coalesce(u.must_change_password, FALSE), coalesce(u.session_gen, 0), u.email")


def _row_to_user(row) -> User | None:
    if row is None:
        return None
    return User(name=row[0], role=row[1], region_code=row[2], disabled=bool(row[3]), created_at=row[4],
                must_change=bool(row[5]), session_gen=int(row[6]), email=row[7])


def get_user(con, name: str) -> User | None:
    return _row_to_user(con.execute(
        f"SELECT {_USER_COLUMNS} FROM users u WHERE u.name = ?", [name]).fetchone())


def list_users(con) -> list[User]:
    rows = con.execute(f"SELECT {_USER_COLUMNS} FROM users u ORDER BY u.role, u.name").fetchall()
    return [_row_to_user(r) for r in rows]


def user_rows(con) -> list[tuple]:
    """(user, region name, live API tokens) per user, for the admin page."""
    rows = con.execute(
        f"SELECT {_USER_COLUMNS}, r.name, (SELECT count(*) FROM api_tokens t WHERE t.user_name = u.name "
        "AND t.revoked_at IS NULL) FROM users u LEFT JOIN regions r ON r.code = u.region_code "
        "ORDER BY u.role, u.name").fetchall()
    return [(_row_to_user(r[:8]), r[8], r[9]) for r in rows]


def count_users(con) -> int:
    return con.execute("SELECT count(*) FROM users").fetchone()[0]


def _require_user(con, name: str) -> User:
    user = get_user(con, name)
    if user is None:
        raise AccountError(f"用户 {name} 不存在；可用 python -m pipelines users add 创建")
    return user


def region_choices(con) -> list[tuple[str, str, int]]:
    """(code, name, depth) of every active region, in tree order (the admin's pickers)."""
    return con.execute("SELECT code, name, depth FROM regions WHERE active ORDER BY sort_order").fetchall()


def region_name(con, code: str) -> str:
    row = con.execute("SELECT name FROM regions WHERE code = ?", [code]).fetchone()
    return row[0] if row else code


def jurisdiction_choices(con) -> list[tuple[str, str]]:
    return con.execute("SELECT code, name FROM regions WHERE parent_code IS NULL AND active "
                       "ORDER BY sort_order").fetchall()


def resolve_region(con, text: str) -> str:
    """Region code from a code, name or alias (catalog/names.py); AccountError if unknown or
    ambiguous (the message lists the candidates)."""
    from pipelines.catalog.names import ResolveError
    from pipelines.catalog.names import resolve_region as resolve
    try:
        return resolve(con, text)
    except ResolveError as exc:
        raise AccountError(str(exc)) from None


NAME_RULE = "用户名不能为空、不能含空格或斜杠，且不超过 64 个字符"
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def name_problem(name: str) -> str | None:
    if not name or len(name) > 64 or any(c in name for c in " \t\r\n/\\"):
        return NAME_RULE
    return None


def email_problem(email: str | None) -> str | None:
    if email and not EMAIL_RE.match(email):
        return f"邮箱“{email}”格式不对：应写成 name@example.gov.cn"
    return None


def role_code(text: str | None) -> str | None:
    """admin / reporter / viewer from the code or its Chinese label; None if neither."""
    text = (text or "").strip()
    if text in ROLES:
        return text
    return {label: code for code, label in ROLE_LABELS.items()}.get(text)


def add_user(con, name: str, role: str, password: str, region: str | None = None,
             actor: str = "cli", *, email: str | None = None, must_change: bool = False) -> User:
    name = (name or "").strip()
    if name_problem(name):
        raise AccountError(NAME_RULE)
    if role not in ROLES:
        raise AccountError(f"角色“{role}”无效：应为 admin（管理员）、reporter（填报员）或 viewer（查看者）")
    region_code = resolve_region(con, region) if region else None
    if role == "reporter" and region_code is None:
        raise AccountError("填报员必须指定所属地区：--region 地区编码")
    email = (email or "").strip() or None
    if email_problem(email):
        raise AccountError(email_problem(email))
    _check_password(password)
    if get_user(con, name) is not None:
        raise AccountError(f"用户 {name} 已存在；修改密码请用 users passwd")
    con.execute("INSERT INTO users (name, role, region_code, password_hash, disabled, created_at, "
                "must_change_password, session_gen, email) VALUES (?, ?, ?, ?, FALSE, ?, ?, 0, ?)",
                [name, role, region_code, hash_password(password), dt.datetime.now(), must_change, email])
    db.audit(con, actor, "user.add", name, "ok", {"role": role, "region": region_code})
    return get_user(con, name)


def new_password() -> str:
    """A random initial password (shown once)."""
    return secrets.token_urlsafe(9)


def _end_sessions(con, name: str) -> None:
    con.execute("UPDATE users SET session_gen = coalesce(session_gen, 0) + 1 WHERE name = ?", [name])


def set_password(con, name: str, password: str, actor: str = "cli") -> None:
    """A new password chosen by the user (or the CLI): no change needed at next login; every
    session of the user ends (the one that changed it is re-signed by the caller)."""
    _require_user(con, name)
    _check_password(password)
    con.execute("UPDATE users SET password_hash = ?, must_change_password = FALSE WHERE name = ?",
                [hash_password(password), name])
    _end_sessions(con, name)
    db.audit(con, actor, "user.passwd", name, "ok")


def change_own_password(con, name: str, old: str, new: str) -> User:
    """The logged-in user replaces its password; AccountError if the old one is wrong."""
    if authenticate(con, name, old) is None:
        raise AccountError("当前密码不正确，请重新输入")
    if new == old:
        raise AccountError("新密码不能与当前密码相同")
    set_password(con, name, new, actor=name)
    return get_user(con, name)


def reset_password(con, name: str, actor: str = "cli") -> str:
    """A random new password (returned once), to be changed at next login; sessions end."""
    _require_user(con, name)
    password = new_password()
    con.execute("UPDATE users SET password_hash = ?, must_change_password = TRUE WHERE name = ?",
                [hash_password(password), name])
    _end_sessions(con, name)
    db.audit(con, actor, "user.reset", name, "ok")
    return password


def disable_user(con, name: str, actor: str = "cli") -> int:
    """Disable the user, end its sessions and revoke its tokens. Returns the tokens revoked."""
    _require_user(con, name)
    con.execute("UPDATE users SET disabled = TRUE WHERE name = ?", [name])
    _end_sessions(con, name)
    revoked = _revoke(con, name)
    db.audit(con, actor, "user.disable", name, "ok", {"tokens_revoked": revoked})
    return revoked


def enable_user(con, name: str, actor: str = "cli") -> None:
    """Re-enable a disabled user (its old tokens stay revoked, its old sessions ended)."""
    _require_user(con, name)
    con.execute("UPDATE users SET disabled = FALSE WHERE name = ?", [name])
    db.audit(con, actor, "user.enable", name, "ok")


def authenticate(con, name: str, password: str) -> User | None:
    """The user if the password is right and the account enabled; None otherwise."""
    row = con.execute("SELECT password_hash FROM users WHERE name = ?", [name]).fetchone()
    if row is None:
        _dummy_verify(password or "")
        return None
    if not verify_password(row[0], password or ""):
        return None
    user = get_user(con, name)
    if user.disabled:
        return None
    if needs_rehash(row[0]):           # an old-format hash: werkzeug's from now on
        con.execute("UPDATE users SET password_hash = ? WHERE name = ? AND password_hash = ?",
                    [hash_password(password), name, row[0]])
    return user


def ensure_admin(con, name: str = "admin") -> str | None:
    """If there is no user at all, create admin `name` with a random password and return it."""
    if count_users(con) > 0:
        return None
    password = secrets.token_urlsafe(12)
    add_user(con, name, "admin", password, actor="system")
    return password


# --- API tokens ----------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(con, name: str, actor: str = "cli") -> str:
    user = _require_user(con, name)
    if user.disabled:
        raise AccountError(f"用户 {name} 已停用，不能签发令牌")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    con.execute("INSERT INTO api_tokens (token_hash, user_name, created_at) VALUES (?, ?, ?)",
                [_token_hash(token), name, dt.datetime.now()])
    db.audit(con, actor, "token.create", name, "ok")
    return token


def _revoke(con, name: str) -> int:
    n = con.execute("SELECT count(*) FROM api_tokens WHERE user_name = ? AND revoked_at IS NULL",
                    [name]).fetchone()[0]
    con.execute("UPDATE api_tokens SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL",
                [dt.datetime.now(), name])
    return n


def revoke_tokens(con, name: str, actor: str = "cli") -> int:
    _require_user(con, name)
    n = _revoke(con, name)
    db.audit(con, actor, "token.revoke", name, "ok", {"revoked": n})
    return n


def user_for_token(con, token: str | None) -> User | None:
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    row = con.execute(
        f"SELECT {_USER_COLUMNS} FROM api_tokens t "
        "JOIN users u ON u.name = t.user_name WHERE t.token_hash = ? AND t.revoked_at IS NULL",
        [_token_hash(token)]).fetchone()
    user = _row_to_user(row)
    return None if user is None or user.disabled else user


# --- scope ---------------------------------------------------------------------------------

def can_submit(user: User | None) -> bool:
    return user is not None and not user.disabled and user.role in ("admin", "reporter")


def allowed_regions(con, user: User) -> set[str] | None:
    """Regions the user may submit for: None = any (admin); a reporter's region and below."""
    if user.role == "admin":
        return None
    if user.role != "reporter" or not user.region_code:
        return set()
    rows = con.execute(
        "WITH RECURSIVE sub(code) AS (SELECT ?::VARCHAR UNION ALL "
        "SELECT r.code FROM regions r JOIN sub ON r.parent_code = sub.code) "
        "SELECT code FROM sub", [user.region_code]).fetchall()
    return {r[0] for r in rows}


# --- login throttling ----------------------------------------------------------------------

def login_lock(con, name: str, ip: str) -> str | None:
    """Which limit an attempt of `name` from `ip` is over: 'user_ip' (THROTTLE_FAILURES failures
    of this account on this address since its last success there), 'address' (ADDRESS_FAILURES
    of any accounts from this address), 'account' (ACCOUNT_FAILURES of this account from any
    address since its last success); None when none is. All within THROTTLE_MINUTES."""
    row = db.first_row(con.execute(f"""
        WITH recent AS (
            SELECT subject, outcome, logged_at, json_extract_string(detail, '$.ip') AS ip
            FROM audit_log WHERE action = 'login'
              AND logged_at > now()::TIMESTAMP - INTERVAL {THROTTLE_MINUTES} MINUTE),
        ok_here AS (SELECT coalesce(max(logged_at), TIMESTAMP '1970-01-01') AS t FROM recent
                    WHERE outcome = 'success' AND subject = $n AND ip = $ip),
        ok_any AS (SELECT coalesce(max(logged_at), TIMESTAMP '1970-01-01') AS t FROM recent
                   WHERE outcome = 'success' AND subject = $n)
        SELECT count(*) FILTER (WHERE subject = $n AND ip = $ip AND logged_at > (SELECT t FROM ok_here)),
               count(*) FILTER (WHERE ip = $ip),
               count(*) FILTER (WHERE subject = $n AND logged_at > (SELECT t FROM ok_any))
        FROM recent WHERE outcome = 'failure'""", {"n": name, "ip": ip}))
    here, address, account = row if row else (0, 0, 0)
    if here >= THROTTLE_FAILURES:
        return "user_ip"
    if address >= ADDRESS_FAILURES:
        return "address"
    if account >= ACCOUNT_FAILURES:
        return "account"
    return None


def login_locked(con, name: str, ip: str) -> bool:
    return login_lock(con, name, ip) is not None


LOCK_MESSAGES = {
    "user_ip": f"登录失败次数过多，该账户在本机已锁定 {THROTTLE_MINUTES} 分钟，请稍后再试",
    "address": f"本机登录失败次数过多，已锁定 {THROTTLE_MINUTES} 分钟，请稍后再试",
    "account": f"该账户登录失败次数过多，已锁定 {THROTTLE_MINUTES} 分钟，请稍后再试或联系管理员",
}


def record_login(con, name: str, ip: str, ok: bool, reason: str | None = None) -> None:
    detail = {"ip": ip}
    if reason:
        detail["reason"] = reason
    db.audit(con, name or "?", "login", name or "?", "success" if ok else "failure", detail)


# --- command line (`python -m pipelines users ...`) ------------------------------------------

def read_password(stream) -> str:
    """The password: first line of stdin (piped), or typed twice at a terminal."""
    if stream.isatty():
        import getpass
        first = getpass.getpass("密码：")
        if getpass.getpass("再次输入密码：") != first:
            raise AccountError("两次输入的密码不一致，请重新运行")
        return first
    return stream.readline().rstrip("\r\n")


def run_cli(args, stdin, stdout) -> int:
    """Body of the `users` subcommand (argument parsing lives in cli.py)."""
    con = db.connect(args.db)
    try:
        db.migrate(con)
        action = args.users_command
        if action == "add":
            user = add_user(con, args.name, args.role, read_password(stdin), args.region)
            scope = f"，地区 {user.region_code}" if user.region_code else ""
            print(f"已创建用户 {user.name}（{user.role_label}{scope}）", file=stdout)
        elif action == "passwd":
            set_password(con, args.name, read_password(stdin))
            print(f"已修改用户 {args.name} 的密码", file=stdout)
        elif action == "disable":
            n = disable_user(con, args.name)
            print(f"已停用用户 {args.name}，并吊销其 {n} 个 API 令牌", file=stdout)
        elif action == "token":
            print(create_token(con, args.name), file=stdout)
        elif action == "revoke-tokens":
            n = revoke_tokens(con, args.name)
            print(f"已吊销用户 {args.name} 的 {n} 个 API 令牌", file=stdout)
        elif action == "ensure-admin":
            password = ensure_admin(con, args.name)
            if password is not None:
                print(f"已创建管理员账户 {args.name}，初始密码（只显示这一次，请登录后修改）：{password}",
                      file=stdout)
        elif action == "list":
            for u in list_users(con):
                state = "（已停用）" if u.disabled else ""
                print(f"{u.name}\t{u.role_label}\t{u.region_code or '全部地区'}{state}", file=stdout)
        return 0
    finally:
        con.close()
