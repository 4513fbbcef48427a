"""Period locks: a period locks a set number of days after its deadline; an admin's unlock lets
one region (and, if asked, the regions below it) change it again until the unlock expires.

- **When a period locks.** A return of frequency F (月度/季度/年度) is due on `due_day.F` of the
  month after its period (periods.due_date); it locks `lock_days.F` days after that day, at
  00:00 of the next day. No `lock_days.F` setting (the default) means periods of F never lock.
- **What is refused.** A file that would add or change a value (new or revised; an unchanged
  value is not a change) of a region in a locked period is refused whole, one error per region
  and period, naming the region, the period, when it locked and the admins to ask
  (`refusals`, called by returns/ingest.check_files for the web page, the API, the CLI and the
  demo — the demo checks as of its own upload times).
- **Unlocks** (`period_unlocks`, migration 9): region, period (an unlock of 2024Q1 or 2024
  covers the months and quarters within it), subtree or not, reason (≤ MAX_REASON characters),
  expiry. Only admins unlock; an admin with a region unlocks only within it. An unlock is in
  force from its grant until `expires_at` (or its revocation). Every grant and revocation goes
  to the audit log (period.unlock / period.unlock_revoke) in the same transaction.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipelines import db
from pipelines.periods import FREQUENCY_OF_TYPE, Period, PeriodError, due_date, parse_period

FREQUENCIES = ("月度", "季度", "年度")
MAX_REASON = 500
MAX_UNLOCK_DAYS = 90
MAX_ADMINS_NAMED = 5


class LockError(Exception):
    """A refused unlock, in Chinese; `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclass
class Unlock:
    unlock_id: int
    region_code: str
    region_name: str
    period: str
    subtree: bool
    reason: str
    expires_at: dt.datetime
    granted_by: str
    granted_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str | None

    def state(self, now: dt.datetime | None = None) -> str:
        now = now or dt.datetime.now()
        if self.revoked_at is not None and self.revoked_at <= now:
            return "已撤销"
        return "生效中" if self.granted_at <= now < self.expires_at else (
            "已过期" if now >= self.expires_at else "未生效")

    @property
    def period_label(self) -> str:
        return parse_period(self.period).label

    def scope_text(self) -> str:
        return f"{self.region_name}{'及下级地区' if self.subtree else ''}"

    def as_dict(self, now: dt.datetime | None = None) -> dict:
        return {"unlock_id": self.unlock_id, "region_code": self.region_code, "region_name": self.region_name,
                "period": self.period, "period_label": self.period_label, "subtree": self.subtree,
                "reason": self.reason, "expires_at": self.expires_at.isoformat(timespec="seconds"),
                "granted_by": self.granted_by, "granted_at": self.granted_at.isoformat(timespec="seconds"),
                "revoked_at": self.revoked_at.isoformat(timespec="seconds") if self.revoked_at else None,
                "revoked_by": self.revoked_by, "state": self.state(now)}


# ------------------------------------------------------------------------- when periods lock
def settings(con) -> dict[str, tuple[int, int | None]]:
    """frequency -> (due_day, lock_days or None when that frequency never locks)."""
    values = dict(con.execute("SELECT key, value FROM settings WHERE key LIKE 'due_day.%' "
                              "OR key LIKE 'lock_days.%'").fetchall())
    out = {}
    for f in FREQUENCIES:
        lock = values.get(f"lock_days.{f}")
        out[f] = (int(values.get(f"due_day.{f}", 10)), int(lock) if lock not in (None, "") else None)
    return out


def lock_time(period: Period, due_day: int, lock_days: int | None) -> dt.datetime | None:
    """The moment the period locks (00:00 of the day after its deadline + lock_days), or None."""
    if lock_days is None:
        return None
    day = due_date(period, due_day) + dt.timedelta(days=lock_days + 1)
    return dt.datetime.combine(day, dt.time())


def locked_at(con, period: Period, cfg: dict | None = None) -> dt.datetime | None:
    cfg = cfg or settings(con)
    due_day, days = cfg[FREQUENCY_OF_TYPE[period.type]]
    return lock_time(period, due_day, days)


def check_setting(key: str, value: str) -> str | None:
    """Why a lock_days.* value is not acceptable (None when it is)."""
    if key.startswith("lock_days.") and value.strip():
        if not value.strip().isdigit() or not 0 <= int(value) <= 3660:
            return f"设置 {key} 的值“{value}”无效：应为 0 到 3660 之间的整数天数（留空即不锁定）"
    return None


# ------------------------------------------------------------------------- unlocks
_SELECT = ("SELECT u.unlock_id, u.region_code, coalesce(r.name, u.region_code), u.period, u.subtree, u.reason, "
           "u.expires_at, u.granted_by, u.granted_at, u.revoked_at, u.revoked_by "
           "FROM period_unlocks u LEFT JOIN regions r ON r.code = u.region_code ")


def _unlock(row) -> Unlock:
    return Unlock(int(row[0]), row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7], row[8], row[9], row[10])


def unlocks(con, limit: int = 200) -> list[Unlock]:
    """Every unlock, newest first."""
    return [_unlock(r) for r in con.execute(_SELECT + "ORDER BY u.granted_at DESC, u.unlock_id DESC LIMIT ?",
                                            [limit]).fetchall()]


def get(con, unlock_id: int) -> Unlock | None:
    row = con.execute(_SELECT + "WHERE u.unlock_id = ?", [int(unlock_id)]).fetchone()
    return _unlock(row) if row else None


def in_force(con, at: dt.datetime) -> list[Unlock]:
    return [_unlock(r) for r in con.execute(
        _SELECT + "WHERE u.granted_at <= ? AND u.expires_at > ? AND (u.revoked_at IS NULL OR u.revoked_at > ?)",
        [at, at, at]).fetchall()]


def _covers(unlock: Unlock, region: str, period: Period, below: dict[str, set[str]], con) -> bool:
    if region != unlock.region_code:
        if not unlock.subtree:
            return False
        if unlock.region_code not in below:
            below[unlock.region_code] = db.subtree(con, unlock.region_code)
        if region not in below[unlock.region_code]:
            return False
    p = parse_period(unlock.period)
    return p.year == period.year and p.month_from <= period.month_from and period.month_to <= p.month_to


def admins_for(con, region: str) -> list[str]:
    """Names of the active admins who may unlock `region` (those without a region first)."""
    rows = con.execute("SELECT name, region_code FROM users WHERE role = 'admin' AND NOT disabled "
                       "ORDER BY region_code NULLS FIRST, name").fetchall()
    names = []
    for name, scope in rows:
        if scope is None or region in db.subtree(con, scope):
            names.append(name)
    return names


def _resolve_region(con, text) -> str:
    from pipelines.catalog.names import ResolveError, resolve_region
    try:
        return resolve_region(con, text, active_only=True)
    except ResolveError as exc:
        raise LockError(str(exc), 404) from None


def _expiry(value, now: dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        at = value
    else:
        text = str(value or "").strip().replace("T", " ")
        if not text:
            raise LockError("缺少解锁有效期：请填写到期时间，如 2026-12-10 18:00", 400)
        try:
            at = dt.datetime.fromisoformat(text)
        except ValueError:
            raise LockError(f"解锁有效期“{str(value)[:40]}”无法识别：请写成 2026-12-10 18:00 这样的日期和时间",
                            400) from None
    at = at.replace(tzinfo=None, microsecond=0)
    if at <= now:
        raise LockError(f"解锁有效期 {at:%Y-%m-%d %H:%M} 已是过去的时间（现在 {now:%Y-%m-%d %H:%M}）："
                        "请填写将来的到期时间", 422)
    if at > now + dt.timedelta(days=MAX_UNLOCK_DAYS):
        raise LockError(f"解锁有效期 {at:%Y-%m-%d %H:%M} 过长：最长 {MAX_UNLOCK_DAYS} 天，"
                        "请在更正完成后按需再次解锁", 422)
    return at


def may_unlock(con, user, region: str) -> bool:
    if user is None or getattr(user, "disabled", False) or user.role != "admin":
        return False
    return user.region_code is None or region in db.subtree(con, user.region_code)


def unlock(con, user, region, period, reason, expires_at, *, subtree: bool = False,
           now: dt.datetime | None = None) -> Unlock:
    """Grant an unlock; raises LockError (Chinese, with the HTTP status) and changes nothing
    otherwise. `user` is an accounts.User (None: refused)."""
    now = (now or dt.datetime.now()).replace(microsecond=0)
    if user is None or user.role != "admin" or getattr(user, "disabled", False):
        who = f"账户 {user.name}（{user.role_label}）" if user is not None else "未登录用户"
        raise LockError(f"{who}无权解锁统计期：解锁须由管理员操作，请联系管理员", 403)
    reason = str(reason or "").strip()
    if not reason:
        raise LockError("须填写解锁原因：说明为什么要修改已锁定的数据（如“更正3月分母录入错误”）", 422)
    if len(reason) > MAX_REASON:
        raise LockError(f"解锁原因过长：最多 {MAX_REASON} 个字，当前 {len(reason)} 个字", 422)
    code = _resolve_region(con, region)
    try:
        p = parse_period(period)
    except PeriodError as exc:
        raise LockError(f"统计期有误：{exc}", 400) from None
    name = db.first_row(con.execute("SELECT name FROM regions WHERE code = ?", [code]))[0]
    if not may_unlock(con, user, code):
        scope = db.first_row(con.execute("SELECT name FROM regions WHERE code = ?", [user.region_code]))
        raise LockError(f"管理员 {user.name} 只能解锁{scope[0] if scope else user.region_code}及其下级地区，"
                        f"无权解锁{name}：请联系负责该地区的管理员", 403)
    at = _expiry(expires_at, now)
    cfg = settings(con)
    if all(days is None for _, days in cfg.values()):
        raise LockError("当前未设置锁定期限（lock_days.月度 / 季度 / 年度），各统计期均未锁定，无需解锁", 409)
    with db.transaction(con):
        uid = db.first_row(con.execute("SELECT nextval('unlock_seq')"))[0]
        con.execute("INSERT INTO period_unlocks VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                    [uid, code, p.code, bool(subtree), reason, at, user.name, now])
        db.audit(con, user.name, "period.unlock", f"{name} {p.label}", "ok",
                 {"unlock_id": int(uid), "region": code, "region_name": name, "period": p.code,
                  "subtree": bool(subtree), "reason": reason, "expires_at": at.isoformat(timespec="seconds")})
    return get(con, uid)


def revoke(con, user, unlock_id, now: dt.datetime | None = None) -> Unlock:
    """End an unlock now (admins within scope); LockError otherwise, nothing changed."""
    now = (now or dt.datetime.now()).replace(microsecond=0)
    if user is None or user.role != "admin":
        raise LockError("只有管理员可以撤销解锁", 403)
    try:
        item = get(con, int(unlock_id))
    except (TypeError, ValueError):
        item = None
    if item is None:
        raise LockError(f"解锁记录 #{unlock_id} 不存在", 404)
    if not may_unlock(con, user, item.region_code):
        raise LockError(f"管理员 {user.name} 无权撤销{item.region_name}的解锁", 403)
    if item.state(now) != "生效中":
        raise LockError(f"解锁记录 #{item.unlock_id} 当前为“{item.state(now)}”，无需撤销", 409)
    with db.transaction(con):
        con.execute("UPDATE period_unlocks SET revoked_at = ?, revoked_by = ? WHERE unlock_id = ?",
                    [now, user.name, item.unlock_id])
        db.audit(con, user.name, "period.unlock_revoke", f"{item.region_name} {item.period_label}", "ok",
                 {"unlock_id": item.unlock_id, "region": item.region_code, "period": item.period})
    return get(con, item.unlock_id)


# ------------------------------------------------------------------------- refusing changes
def refusals(con, rows, at: dt.datetime | None = None, cfg: dict | None = None) -> list:
    """The errors (returns.extract.Issue) of a file's rows (ReturnRow) that add or change a value
    of a locked period without an unlock in force at `at`; one per region and period. `cfg`:
    `settings(con)`, when the caller read it once for a batch."""
    from pipelines.returns.extract import Issue
    if not rows:
        return []
    at = at or dt.datetime.now()
    cfg = settings(con) if cfg is None else cfg
    if all(days is None for _, days in cfg.values()):
        return []
    groups: dict[tuple[str, Period], list] = {}
    for r in rows:
        when = locked_at(con, r.period, cfg)
        if when is not None and when <= at:
            groups.setdefault((r.region_code, r.period), []).append(r)
    if not groups:
        return []
    changed = _changing(con, [r for g in groups.values() for r in g])
    active = in_force(con, at)
    below: dict[str, set[str]] = {}
    names = dict(con.execute("SELECT code, name FROM regions WHERE code IN (SELECT unnest(?::VARCHAR[]))",
                             [sorted({k[0] for k in groups})]).fetchall())
    issues = []
    for (region, period), members in groups.items():
        members = [r for r in members if id(r) in changed]
        if not members or any(_covers(u, region, period, below, con) for u in active):
            continue
        when = locked_at(con, period, cfg)
        freq = FREQUENCY_OF_TYPE[period.type]
        due_day, days = cfg[freq]
        name = names.get(region, region)
        admins = admins_for(con, region)
        ask = ("管理员（" + "、".join(admins[:MAX_ADMINS_NAMED]) + ("等" if len(admins) > MAX_ADMINS_NAMED else "")
               + "）" if admins else "系统管理员")
        cells = "、".join(r.numerator_cell for r in members[:3] if r.numerator_cell) + ("等" if len(members) > 3 else "")
        first = members[0]
        issues.append(Issue("error", first.sheet or None, first.numerator_cell or None,
                            f"{name} {period.label}已于 {when:%Y-%m-%d %H:%M} 锁定（{freq}报表截止日 "
                            f"{due_date(period, due_day):%Y-%m-%d} 后 {days} 天），不能再新增或修改该期数据"
                            f"（本文件 {len(members)} 条{('：' + cells) if cells else ''}）。如确需更正，请联系{ask}"
                            f"为{name} {period.label}解锁（须说明原因并设定有效期），解锁后在有效期内重新上传",
                            kind="locked"))
    return issues


def _changing(con, rows) -> set[int]:
    """ids of the rows whose value is new or differs from the current one."""
    keys = sorted({(r.region_code, r.indicator_code, r.period.code) for r in rows})
    cols = [list(c) for c in zip(*keys)]
    current = {(a, b, c): (n, d) for a, b, c, n, d in con.execute(
        "SELECT v.region_code, v.indicator_code, v.period, v.numerator, v.denominator FROM return_values v "
        "JOIN (SELECT unnest(?::VARCHAR[]) AS region_code, unnest(?::VARCHAR[]) AS indicator_code, "
        "unnest(?::VARCHAR[]) AS period) k USING (region_code, indicator_code, period) "
        "WHERE v.superseded_at IS NULL", cols).fetchall()}
    out = set()
    for r in rows:
        cur = current.get((r.region_code, r.indicator_code, r.period.code))
        same = cur is not None and float(cur[0]) == float(r.numerator) and (
            (cur[1] is None and r.denominator is None) or
            (cur[1] is not None and r.denominator is not None and float(cur[1]) == float(r.denominator)))
        if not same:
            out.add(id(r))
    return out


# ------------------------------------------------------------------------- command line
def run_cli(args, stdout) -> int:
    """`unlock` (grant / list / revoke) for the command line; the operator acts as the admin
    named by --user (an admin account), refusals raise LockError."""
    from pipelines.accounts import users as accounts
    con = db.connect(args.db)
    try:
        db.migrate(con)
        if args.unlock_command == "list":
            now = dt.datetime.now()
            items = unlocks(con)
            if not items:
                print("没有解锁记录", file=stdout)
            for u in items:
                print(f"#{u.unlock_id}\t{u.scope_text()}\t{u.period_label}\t{u.state(now)}\t至 {u.expires_at:%Y-%m-%d %H:%M}"
                      f"\t{u.granted_by}\t{u.reason}", file=stdout)
            return 0
        user = accounts.get_user(con, args.user)
        if user is None:
            raise LockError(f"账户“{args.user}”不存在：--user 须是一个管理员账户的用户名", 403)
        if args.unlock_command == "revoke":
            item = revoke(con, user, args.id)
            print(f"已撤销解锁 #{item.unlock_id}：{item.scope_text()} {item.period_label}", file=stdout)
            return 0
        item = unlock(con, user, args.region, args.period, args.reason, args.expires, subtree=args.subtree)
        print(f"已解锁 #{item.unlock_id}：{item.scope_text()} {item.period_label}，有效期至 "
              f"{item.expires_at:%Y-%m-%d %H:%M}；原因：{item.reason}", file=stdout)
        return 0
    finally:
        con.close()
