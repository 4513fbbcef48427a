"""Accounts in bulk through Excel: one reporter account per unit of a jurisdiction.

The admin downloads the sheet (`write_accounts_sheet`: one row per unit — leaf region — of the
jurisdiction that has no reporter account yet, with a suggested user name), edits it (names,
roles, e-mail addresses; rows may be added or deleted) and uploads it. `read_accounts_workbook`
checks every row against the warehouse and lists every problem at once with its cell — unknown
region, user name repeated in the sheet or already taken, unknown role, bad e-mail address —
and then nothing is created. `create_accounts` creates them all in one transaction with random
initial passwords (each user must change it at the first login), and `passwords_xlsx` is the
file the passwords are handed over in, once.
"""
from __future__ import annotations

import io

from pipelines.accounts import users as accounts
from pipelines import db
from pipelines.returns.cells import col_letter
from pipelines.catalog.sheets import SheetError, code_text, header, parsed_workbook

SHEET = "账户"
COLUMNS = ("用户名", "角色", "地区编码", "地区名称", "邮箱")
REQUIRED = ("用户名", "角色", "地区编码")


def units(con, jurisdiction: str) -> list[tuple[str, str]]:
    """(code, name) of the jurisdiction's units: its active leaf regions, in tree order."""
    from pipelines.metrics.reporting import Tree
    tree = Tree.read(con)
    return [(c, tree.name[c]) for c in sorted(tree.descendants(jurisdiction),
                                              key=lambda c: tree.sort_order.get(c, 0))
            if tree.is_leaf(c)]


def write_accounts_sheet(con, jurisdiction: str, out) -> int:
    """The sheet of suggested reporter accounts for the units without one; returns its rows."""
    from openpyxl import Workbook
    jur = accounts.resolve_region(con, jurisdiction)
    has_reporter = {u.region_code for u in accounts.list_users(con) if u.role == "reporter"}
    taken = {u.name for u in accounts.list_users(con)}
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    header(ws, COLUMNS)
    n = 0
    for code, name in units(con, jur):
        if code in has_reporter:
            continue
        user = f"tb{code}"
        if user in taken:
            continue
        ws.append([user, accounts.ROLE_LABELS["reporter"], code, name, None])
        n += 1
    for row in ws.iter_rows(min_row=2):
        row[2].number_format = "@"
    notes = wb.create_sheet("说明")
    for line in ("每行一个账户。用户名不能含空格或斜杠；角色填 填报员、查看者 或 管理员；",
                 "填报员必须填地区编码（只能报送该地区及其下级）；邮箱可空，用于催报提醒。",
                 "地区名称一列仅供阅读，系统以地区编码为准。上传后先核对，确认后才创建；",
                 "初始密码随机生成，只以文件形式提供一次，用户首次登录时必须修改。"):
        notes.append([line])
    notes.column_dimensions["A"].width = 90
    wb.save(out)
    return n


def read_accounts_workbook(con, source, parser=None) -> list[dict]:
    """The accounts of an uploaded sheet, checked; SheetError listing every problem."""
    wb = parsed_workbook(source, parser, "请上传由本系统导出的账户表 .xlsx")
    sheet = wb.sheet(SHEET)
    if sheet is None:
        raise SheetError([f"缺少工作表“{SHEET}”：请使用“系统管理 → 批量创建账户”下载的账户表"])
    head = [str(v).strip() if v is not None else "" for v in (sheet.rows[0] if sheet.rows else [])]
    problems = [f"{SHEET}!{col_letter(len(head))}1: 缺少列“{c}”，请使用系统导出的账户表"
                for c in REQUIRED if c not in head]
    if problems:
        raise SheetError(problems)
    col = {c: head.index(c) for c in COLUMNS if c in head}
    existing = {u.name for u in accounts.list_users(con)}
    seen: dict[str, int] = {}
    out = []
    for number, row in enumerate(sheet.rows[1:], start=2):
        def value(c):
            i = col.get(c)
            v = row[i] if i is not None and i < len(row) else None
            return code_text(v) if c == "地区编码" else (str(v).strip() if v is not None else "")

        def cell(c):
            return f"{SHEET}!{col_letter(col[c])}{number}"
        name, role_text, region = value("用户名"), value("角色"), value("地区编码")
        email = value("邮箱") if "邮箱" in col else ""
        if not name and not role_text and not region and not email:
            continue
        if accounts.name_problem(name):
            problems.append(f"{cell('用户名')}: {accounts.NAME_RULE}")
        elif name in seen:
            problems.append(f"{cell('用户名')}: 用户名 {name} 与第 {seen[name]} 行重复，请改成不同的用户名")
        elif name in existing:
            problems.append(f"{cell('用户名')}: 用户 {name} 已存在，请换一个用户名或删除这一行")
        if name:
            seen.setdefault(name, number)
        role = accounts.role_code(role_text)
        if role is None:
            problems.append(f"{cell('角色')}: 角色“{role_text}”不存在：请填 填报员、查看者 或 管理员")
        region_code = None
        if region:
            try:
                region_code = accounts.resolve_region(con, region)
            except accounts.AccountError:
                problems.append(f"{cell('地区编码')}: 未知地区“{region}”：请填写系统地区树中的地区编码"
                                "（可在“下载地区树”中查到）")
        elif role == "reporter":
            problems.append(f"{cell('地区编码')}: 填报员必须填写所属地区编码")
        if accounts.email_problem(email):
            problems.append(f"{cell('邮箱')}: {accounts.email_problem(email)}")
        out.append({"row": number, "name": name, "role": role, "region_code": region_code,
                    "email": email or None})
    if not out and not problems:
        problems.append(f"{SHEET}!A2: 表中没有账户：每行填写一个账户后再上传")
    if problems:
        raise SheetError(problems)
    return out


def create_accounts(con, rows: list[dict], actor: str) -> list[dict]:
    """Create every account of a checked sheet in one transaction; each row gains `password`
    (random, must be changed at first login). Nothing is created if any row fails."""
    created = []
    with db.transaction(con):
        for r in rows:
            password = accounts.new_password()
            accounts.add_user(con, r["name"], r["role"], password, r["region_code"], actor=actor,
                              email=r["email"], must_change=True)
            created.append({**r, "password": password})
        db.audit(con, actor, "user.batch", None, "ok", {"count": len(created)})
    return created


def passwords_xlsx(con, created: list[dict]) -> bytes:
    """The initial passwords, handed over once as a workbook."""
    from openpyxl import Workbook
    names = dict(con.execute("SELECT code, name FROM regions").fetchall())
    wb = Workbook()
    ws = wb.active
    ws.title = "初始密码"
    header(ws, ("用户名", "角色", "地区编码", "地区名称", "初始密码"))
    for r in created:
        ws.append([r["name"], accounts.ROLE_LABELS[r["role"]], r["region_code"],
                   names.get(r["region_code"]), r["password"]])
    for row in ws.iter_rows(min_row=2):
        row[2].number_format = row[4].number_format = "@"
    ws.append([])
    ws.append(["首次登录时必须修改密码。本文件只生成这一次，请分发给各单位后妥善删除。"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
