"""催报: what is outstanding, who to chase, what a reporter owes, which reminders are due.

Everything is read off `Metrics.submission_status` (who owes which return, due when, in or
not): nothing here decides who owes what. Contacts come from pipelines.workflow.contacts.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from ..periods import parse_period

FREQUENCIES = ("月度", "季度", "年度")
CHASE_COLUMNS = ["region_code", "region_name", "frequency", "period", "period_label", "due_date",
                 "days_overdue", "contact", "phone", "email"]
OWED_COLUMNS = ["frequency", "period", "period_label", "due_date", "status", "days"]
UPCOMING_DAYS = 45         # a reporter's landing page lists returns due within this many days


def _today(m) -> dt.date:
    return (m.as_of or dt.datetime.now()).date()


def _frequencies(m, jurisdiction) -> list[str]:
    present = set(m.indicators(jurisdiction)["frequency"])
    return [f for f in FREQUENCIES if f in present]


def chase_list(m, jurisdiction: str, year: int, frequency: str) -> pd.DataFrame:
    """The returns of `year` at `frequency` that are due and not in, oldest first, with the
    region's contact (联系人, 电话, 邮箱; None where none is kept)."""
    from pipelines.workflow.contacts import contacts
    status = m.submission_status(jurisdiction, year, frequency)
    out = status[status["status"] == "未报送"].copy()
    today = _today(m)
    known = contacts(m.con)
    out["frequency"] = frequency
    out["period_label"] = [parse_period(p).label for p in out["period"]]
    out["due_date"] = [pd.Timestamp(d).date() for d in out["due_date"]]
    out["days_overdue"] = [(today - d).days for d in out["due_date"]]
    for field in ("contact", "phone", "email"):
        out[field] = [known.get(c, {}).get(field) for c in out["region_code"]]
    out = out.sort_values(["days_overdue", "region_code"], ascending=[False, True], kind="stable")
    return out.reindex(columns=CHASE_COLUMNS).reset_index(drop=True)


def owed_by(m, region: str) -> pd.DataFrame:
    """What region `region` owes: every return of this or last year that is overdue (未报送),
    and those not yet due whose deadline is within UPCOMING_DAYS; `days` is the days overdue
    (positive) or left (negative is never shown: days left are counted as 0 … n)."""
    code = m.resolve_region(region)
    rep = m.reporting()
    jur = rep.tree.jurisdiction.get(code, code)
    today = _today(m)
    rows = []
    for freq in _frequencies(m, jur):
        for yr in (today.year - 1, today.year):
            status = m.submission_status(jur, yr, freq)
            mine = status[status["region_code"] == code]
            for period, due, st in zip(mine["period"], mine["due_date"], mine["status"]):
                due = pd.Timestamp(due).date()
                if st == "未报送" or (st == "未到期" and (due - today).days <= UPCOMING_DAYS):
                    rows.append({"frequency": freq, "period": period,
                                 "period_label": parse_period(period).label, "due_date": due,
                                 "status": "逾期未报" if st == "未报送" else "待报送",
                                 "days": (today - due).days if st == "未报送" else (due - today).days})
    frame = pd.DataFrame(rows, columns=OWED_COLUMNS)
    return frame.sort_values(["due_date", "frequency"], kind="stable").reset_index(drop=True)


def reminders_due(m, days_before: int, days_after: int, catch_up_days: int = 30) -> pd.DataFrame:
    """The reminders due at m.as_of (today): per owing region and return not in yet,
    `before` from `days_before` days before its deadline until the deadline, `after` from
    `days_after` days after it for `catch_up_days` more days (older gaps are chased by hand).
    Columns: region_code, region_name, jurisdiction, frequency, period, period_label, due_date,
    kind. Which were already sent is the sender's business (pipelines.workflow.reminders)."""
    today = _today(m)
    rows = []
    for jur in m.jurisdictions()["code"]:
        for freq in _frequencies(m, jur):
            for yr in (today.year - 1, today.year):
                status = m.submission_status(jur, yr, freq)
                for code, name, period, due, st in zip(status["region_code"], status["region_name"],
                                                        status["period"], status["due_date"], status["status"]):
                    due = pd.Timestamp(due).date()
                    kind = None
                    if st == "未到期" and 0 <= (due - today).days <= days_before:
                        kind = "before"
                    elif st == "未报送" and days_after <= (today - due).days <= days_after + catch_up_days:
                        kind = "after"
                    if kind:
                        rows.append({"region_code": code, "region_name": name, "jurisdiction": jur,
                                     "frequency": freq, "period": period,
                                     "period_label": parse_period(period).label, "due_date": due,
                                     "kind": kind})
    return pd.DataFrame(rows, columns=["region_code", "region_name", "jurisdiction", "frequency",
                                       "period", "period_label", "due_date", "kind"])
