"""Region contacts (联系人, 电话, 邮箱): who to call or write to about a region's returns.

Maintained like the region tree: download the sheet (one row per active region), edit it,
upload it; it is checked — every problem at once with its cell (unknown region, a region twice,
a bad e-mail address or phone number) —, shown as a diff and applied only on confirmation,
audited (`contacts.apply`). A row left empty clears that region's contact.
"""
from __future__ import annotations

import datetime as dt
import re

from pipelines import db
from pipelines.accounts.users import email_problem
from pipelines.returns.cells import col_letter
from pipelines.catalog.sheets import (SheetError, code_text, header, neutral_text,
                                      parsed_workbook)

SHEET = "联系人"
COLUMNS = ("地区编码", "地区名称", "联系人", "电话", "邮箱")
FIELDS = {"contact": "联系人", "phone": "电话", "email": "邮箱"}
_PHONE = re.compile(r"^[0-9+()（）\-－ 转#]{5,30}$")


def contacts(con) -> dict[str, dict]:
    """region code → {contact, phone, email} of the regions that have one."""
    return {r[0]: {"contact": r[1], "phone": r[2], "email": r[3]} for r in con.execute(
        "SELECT region_code, contact, phone, email FROM region_contacts").fetchall()}


def write_contacts_sheet(con, out) -> None:
    from openpyxl import Workbook
    known = contacts(con)
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    header(ws, COLUMNS)
    for code, name in con.execute("SELECT code, name FROM regions WHERE active ORDER BY sort_order").fetchall():
        c = known.get(code, {})
        ws.append([code, name, neutral_text(c.get("contact")), neutral_text(c.get("phone")), c.get("email")])
    for row in ws.iter_rows(min_row=2):
        row[0].number_format = row[3].number_format = "@"
    for col, width in zip("ABCDE", (14, 22, 14, 20, 30)):
        ws.column_dimensions[col].width = width
    notes = wb.create_sheet("说明")
    for line in ("每行一个地区的报送联系人；地区名称一列仅供阅读，系统以地区编码为准。",
                 "邮箱用于催报提醒邮件（系统设置了邮件服务器时）；电话写在催报清单和催报通知上。",
                 "清空一行的联系人、电话、邮箱即删除该地区的联系人。"):
        notes.append([line])
    notes.column_dimensions["A"].width = 90
    wb.save(out)


def read_contacts_workbook(con, source, parser=None) -> list[dict]:
    """The contacts of an uploaded sheet, checked; SheetError listing every problem."""
    wb = parsed_workbook(source, parser, "请上传由本系统导出的联系人表 .xlsx")
    sheet = wb.sheet(SHEET)
    if sheet is None:
        raise SheetError([f"缺少工作表“{SHEET}”：请使用系统导出的联系人表"])
    head = [str(v).strip() if v is not None else "" for v in (sheet.rows[0] if sheet.rows else [])]
    missing = [c for c in ("地区编码", "联系人", "电话", "邮箱") if c not in head]
    if missing:
        raise SheetError([f"{SHEET}!{col_letter(len(head))}1: 缺少列“{c}”，请使用系统导出的联系人表"
                          for c in missing])
    col = {c: head.index(c) for c in COLUMNS if c in head}
    regions = {r[0] for r in con.execute("SELECT code FROM regions WHERE active").fetchall()}
    problems, seen, out = [], {}, []
    for number, row in enumerate(sheet.rows[1:], start=2):
        def value(c):
            i = col[c]
            v = row[i] if i < len(row) else None
            if c in ("地区编码", "电话"):
                return code_text(v)
            return str(v).strip() or None if v is not None else None

        def cell(c):
            return f"{SHEET}!{col_letter(col[c])}{number}"
        code, contact, phone, email = value("地区编码"), value("联系人"), value("电话"), value("邮箱")
        if code is None and not (contact or phone or email):
            continue
        if code is None:
            problems.append(f"{cell('地区编码')}: 缺少地区编码：请填写该联系人所属地区的编码")
        elif code not in regions:
            problems.append(f"{cell('地区编码')}: 未知地区“{code}”：请填写系统地区树中的地区编码")
        elif code in seen:
            problems.append(f"{cell('地区编码')}: 地区 {code} 与第 {seen[code]} 行重复，每个地区只写一行")
        else:
            seen[code] = number
        if email_problem(email):
            problems.append(f"{cell('邮箱')}: {email_problem(email)}")
        if phone and not _PHONE.match(phone):
            problems.append(f"{cell('电话')}: 电话“{phone}”格式不对：只写数字、空格、- 和括号，如 0593-2822xxx")
        out.append({"row": number, "region_code": code, "contact": contact, "phone": phone, "email": email})
    if problems:
        raise SheetError(problems)
    return out


def diff_contacts(con, rows: list[dict]) -> list[dict]:
    """Changes in the admin page's diff shape: change, kind, key, fields {name: (old, new)}."""
    known = contacts(con)
    out = []
    for r in rows:
        new = {k: r[k] for k in FIELDS}
        old = known.get(r["region_code"])
        if old is None:
            if any(new.values()):
                out.append({"change": "新增", "kind": "联系人", "key": r["region_code"],
                            "fields": {k: (None, v) for k, v in new.items() if v}})
            continue
        if not any(new.values()):
            out.append({"change": "删除", "kind": "联系人", "key": r["region_code"],
                        "fields": {k: (v, None) for k, v in old.items() if v}})
            continue
        fields = {k: (old[k], new[k]) for k in FIELDS if old[k] != new[k]}
        if fields:
            out.append({"change": "修改", "kind": "联系人", "key": r["region_code"], "fields": fields})
    return out


def apply_contacts(con, rows: list[dict], user: str) -> list[dict]:
    """Apply the sheet's changes in one transaction, audited; returns the changes."""
    changes = diff_contacts(con, rows)
    by_code = {r["region_code"]: r for r in rows}
    now = dt.datetime.now()
    with db.transaction(con):
        for ch in changes:
            con.execute("DELETE FROM region_contacts WHERE region_code = ?", [ch["key"]])
            if ch["change"] != "删除":
                r = by_code[ch["key"]]
                con.execute("INSERT INTO region_contacts VALUES (?, ?, ?, ?, ?, ?)",
                            [ch["key"], r["contact"], r["phone"], r["email"], now, user])
        if changes:
            db.audit(con, user, "contacts.apply", None, "ok",
                     {"changes": [{"change": c["change"], "key": c["key"]} for c in changes]})
    return changes
