"""Reminder e-mails (催报提醒) a set number of days before and after each deadline.

Off unless an SMTP server is configured in the settings table (none by default):
`smtp.host`, `smtp.port` (25), `smtp.from`, optional `smtp.user` / `smtp.password`,
`smtp.starttls` (1 = yes); `reminder.days_before` (3), `reminder.days_after` (3) and
`reminder.catch_up_days` (30: how long after the first `after` day a missed one is still sent).
Which reminders are due is read off the metrics (metrics/chase.py: who owes which return,
due when, not in yet). Each goes once per region, frequency, period and kind (`reminders_sent`),
to the region's contact e-mail and the e-mail of each enabled reporter of the region; each is
recorded in the audit log (`reminder.sent`, or `reminder.failed` — tried again next time).
The server checks once an hour (`ReminderTimer`; YBJC_REMINDER_INTERVAL_S, first check after
YBJC_REMINDER_FIRST_S = 30 s); `python -m pipelines remind` checks once.
"""
from __future__ import annotations

import datetime as dt
import smtplib
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from pipelines import db

KIND_WORDS = {"before": "截止前提醒", "after": "逾期催报"}


@dataclass
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "ybjc@localhost"
    user: str | None = None
    password: str | None = None
    starttls: bool = False


@dataclass
class ReminderRun:
    sent: list[dict] = field(default_factory=list)
    already: int = 0
    no_recipient: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    configured: bool = True


def _settings(con) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM settings WHERE key LIKE 'smtp.%' "
                            "OR key LIKE 'reminder.%'").fetchall())


def smtp_settings(con) -> SmtpSettings | None:
    s = _settings(con)
    host = (s.get("smtp.host") or "").strip()
    if not host:
        return None
    return SmtpSettings(host, int(s.get("smtp.port") or 25), s.get("smtp.from") or "ybjc@localhost",
                        s.get("smtp.user") or None, s.get("smtp.password") or None,
                        (s.get("smtp.starttls") or "0").strip() in ("1", "true", "yes"))


def recipients(con, region: str) -> list[str]:
    """The region's contact e-mail, then its enabled reporters' e-mails (no duplicates)."""
    rows = con.execute(
        "SELECT email FROM region_contacts WHERE region_code = ? AND email IS NOT NULL "
        "UNION ALL SELECT email FROM users WHERE region_code = ? AND role = 'reporter' "
        "AND NOT disabled AND email IS NOT NULL", [region, region]).fetchall()
    return list(dict.fromkeys(r[0] for r in rows if r[0]))


def _message(smtp: SmtpSettings, to: list[str], r: dict, jurisdiction_name: str, contact: str | None) -> EmailMessage:
    due = r["due_date"]
    kind = KIND_WORDS[r["kind"]]
    msg = EmailMessage()
    msg["Subject"] = f"【{kind}】{r['region_name']} {r['period_label']}{r['frequency']}报表（截止 {due:%Y-%m-%d}）"
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="ybjc.local")
    greeting = f"{contact}同志：" if contact else f"{r['region_name']}医保部门："
    if r["kind"] == "before":
        body = (f"{greeting}\n\n贵单位 {r['period_label']} 的{r['frequency']}报表（医保便民服务指标）"
                f"报送截止日期为 {due:%Y年%m月%d日}，系统中尚未收到，请在截止日期前登录系统报送。\n")
    else:
        body = (f"{greeting}\n\n贵单位 {r['period_label']} 的{r['frequency']}报表（医保便民服务指标）"
                f"报送截止日期为 {due:%Y年%m月%d日}，现已逾期，系统中仍未收到，请尽快登录系统报送。\n")
    body += f"\n{jurisdiction_name}医疗保障局\n（本邮件由医保便民服务指标监测系统自动发送，请勿直接回复）\n"
    msg.set_content(body)
    return msg


def send_reminders(con, today: dt.date | None = None, smtp_factory=smtplib.SMTP) -> ReminderRun:
    """Send the reminders due `today` (default: today) that were not sent before."""
    from pipelines.workflow.contacts import contacts
    from pipelines.metrics import Metrics
    smtp = smtp_settings(con)
    run = ReminderRun()
    if smtp is None:
        run.configured = False
        return run
    s = _settings(con)
    before, after = int(s.get("reminder.days_before") or 3), int(s.get("reminder.days_after") or 3)
    catch_up = int(s.get("reminder.catch_up_days") or 30)
    as_of = dt.datetime.combine(today, dt.time(12)) if today else None
    m = Metrics(con, as_of=as_of)
    due = m.reminders_due(before, after, catch_up)
    if due.empty:
        return run
    sent = {tuple(r) for r in con.execute(
        "SELECT region_code, frequency, period, kind FROM reminders_sent").fetchall()}
    names = dict(zip(m.jurisdictions()["code"], m.jurisdictions()["name"]))
    known = contacts(con)
    client = None
    try:
        for r in due.to_dict("records"):
            key = (r["region_code"], r["frequency"], r["period"], r["kind"])
            if key in sent:
                run.already += 1
                continue
            to = recipients(con, r["region_code"])
            if not to:
                run.no_recipient.append(r["region_name"])
                continue
            detail = {"region": r["region_code"], "region_name": r["region_name"], "frequency": r["frequency"],
                      "period": r["period"], "period_label": r["period_label"],
                      "due_date": f"{r['due_date']:%Y-%m-%d}", "kind": r["kind"], "to": "、".join(to)}
            try:
                if client is None:
                    client = smtp_factory(smtp.host, smtp.port, timeout=20)
                    if smtp.starttls:
                        client.starttls()
                    if smtp.user:
                        client.login(smtp.user, smtp.password or "")
                client.send_message(_message(smtp, to, r, names.get(r["jurisdiction"], ""),
                                             known.get(r["region_code"], {}).get("contact")))
            except (OSError, smtplib.SMTPException) as exc:
                db.audit(con, "system", "reminder.failed", r["region_name"], "failure",
                         detail | {"error": f"{type(exc).__name__}: {exc}"[:200]})
                run.failed.append(r["region_name"])
                client = None
                continue
            con.execute("INSERT INTO reminders_sent VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [*key[:4], r["due_date"], ", ".join(to), dt.datetime.now()])
            db.audit(con, "system", "reminder.sent", r["region_name"], "ok", detail)
            sent.add(key)
            run.sent.append(detail)
    finally:
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                pass
    return run


class ReminderTimer:
    """The server's hourly check (a daemon thread); does nothing while no SMTP is configured."""

    def __init__(self, store, interval_s: float = 3600.0, first_s: float = 30.0):
        self.store, self.interval_s, self.first_s = store, interval_s, first_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="reminders", daemon=True)

    def start(self) -> "ReminderTimer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        wait = self.first_s
        while not self._stop.wait(wait):
            wait = self.interval_s
            try:
                if self.store.read(smtp_settings) is not None:
                    self.store.write(lambda con: send_reminders(con))
            except Exception:  # noqa: BLE001 - a failed check is retried at the next one
                pass


def _some(names: list[str], n: int = 8) -> str:
    names = list(dict.fromkeys(names))
    return "、".join(names[:n]) + (f" 等 {len(names)} 个" if len(names) > n else "")


def run_cli(args) -> int:
    """`python -m pipelines remind [--today D]`."""
    con = db.connect(args.db)
    try:
        db.migrate(con)
        today = dt.date.fromisoformat(args.today) if args.today else None
        run = send_reminders(con, today)
    finally:
        con.close()
    if not run.configured:
        print("未配置邮件服务器（系统设置 smtp.host），不发送催报提醒邮件")
        return 0
    for d in run.sent:
        print(f"已发送{KIND_WORDS[d['kind']]}：{d['region_name']} {d['period_label']}{d['frequency']}报表"
              f"（截止 {d['due_date']}）→ {d['to']}")
    print(f"共发送 {len(run.sent)} 封；此前已发送 {run.already} 项；无邮箱 {len(set(run.no_recipient))} 个地区"
          + (f"（{_some(run.no_recipient)}，请在“系统管理”维护联系人邮箱）" if run.no_recipient else "")
          + (f"；发送失败 {len(run.failed)} 封（将在下次检查时重试）" if run.failed else ""))
    return 1 if run.failed else 0
