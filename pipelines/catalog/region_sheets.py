"""The region trees as an Excel sheet: download, edit, read back with the rules of
targets/regions.yaml (catalog.py), diff, apply (regions are not versioned; every change is
audited, and a region left out of the sheet is deactivated, never deleted)."""
from __future__ import annotations

import datetime as dt
import json
import re

from pipelines import db
from pipelines.catalog.definitions import _flatten_regions
from pipelines.catalog.target_sheets import (SheetError, code_text, header, parsed_workbook,
                                             sheet_rows)

REGION_COLUMNS = ("地区编码", "地区名称", "上级编码", "层级", "别名")
REGION_FIELDS = ("name", "parent_code", "level", "aliases")


def write_region_sheet(con, out) -> None:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "地区"
    header(ws, REGION_COLUMNS)
    aliases = _aliases(con)
    for code, name, parent, level in con.execute(
            "SELECT code, name, parent_code, level FROM regions WHERE active ORDER BY sort_order").fetchall():
        ws.append([code, name, parent, level, "、".join(aliases.get(code, []))])
    for row in ws.iter_rows(min_row=2):
        row[0].number_format = row[2].number_format = "@"
    notes = wb.create_sheet("说明")
    for line in ("每行一个地区；上级编码为空的是辖区（根）。别名用顿号“、”分隔。",
                 "编码一经使用不要修改；新增地区按 targets/README.md 的规则编码。删除一行即停用该地区。"):
        notes.append([line])
    wb.save(out)


def _aliases(con) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for alias, code in con.execute("SELECT alias, region_code FROM region_aliases ORDER BY alias").fetchall():
        out.setdefault(code, []).append(alias)
    return out


def read_region_workbook(source, parser=None) -> list[dict]:
    """Validated, flattened regions (catalog's shape) from an uploaded region sheet, read in a
    bounded worker (`source` as in target_sheets.parsed_workbook). Raises SheetError listing
    every problem."""
    wb = parsed_workbook(source, parser, "请上传由本系统导出的地区表 .xlsx")
    if wb.sheet("地区") is None:
        raise SheetError(["缺少工作表“地区”：请使用系统导出的地区表"])
    problems: list[str] = []
    rows, where = [], {}
    for row_no, v in sheet_rows(wb.sheet("地区"), REGION_COLUMNS, problems):
        code = code_text(v["地区编码"])
        aliases = [a.strip() for a in re.split(r"[、,，;；]", str(v["别名"] or "")) if a.strip()]
        node = {"code": code, "name": v["地区名称"], "level": v["层级"], "aliases": aliases,
                "parent": code_text(v["上级编码"]), "children": [], "row": row_no}
        if code in where:
            problems.append(f"地区!A{row_no}: 地区编码 {code} 与第 {where[code]} 行重复")
            continue
        if code:
            where[code] = row_no
        rows.append(node)
    by_code = {n["code"]: n for n in rows if n["code"]}
    roots = []
    for n in rows:
        if n["parent"] is None:
            roots.append(n)
        elif n["parent"] not in by_code:
            problems.append(f"地区!C{n['row']}: 上级编码 {n['parent']} 不在表中")
        else:
            by_code[n["parent"]]["children"].append(n)
    semantic: list[str] = []
    flat = _flatten_regions({"jurisdictions": roots}, "地区表", semantic)
    reached = {r["code"] for r in flat}
    for n in rows:
        if n["code"] and n["code"] not in reached and n["parent"] in by_code:
            problems.append(f"地区!C{n['row']}: 上级关系成环，未连接到任何辖区")
    for message in semantic:
        m = re.match(r"地区表: 地区 (\S+): (.*)$", message)
        row = where.get(m.group(1)) if m else None
        problems.append(f"地区!A{row}: {m.group(2)}" if row else message.replace("地区表: ", ""))
    if problems:
        raise SheetError(problems)
    return flat


def diff_regions(con, regions: list[dict]) -> list[dict]:
    aliases = _aliases(con)
    current = {r[0]: {"name": r[1], "parent_code": r[2], "level": r[3], "active": r[4],
                      "aliases": sorted(aliases.get(r[0], []))}
               for r in con.execute("SELECT code, name, parent_code, level, active FROM regions").fetchall()}
    out = []
    for r in regions:
        new = {"name": r["name"], "parent_code": r["parent_code"], "level": r["level"],
               "aliases": sorted(r["aliases"])}
        old = current.get(r["code"])
        if old is None:
            out.append({"change": "新增", "kind": "地区", "key": r["code"],
                        "fields": {k: (None, new[k]) for k in REGION_FIELDS}})
            continue
        fields = {k: (old[k], new[k]) for k in REGION_FIELDS if old[k] != new[k]}
        if not old["active"]:
            fields["active"] = (False, True)
        if fields:
            out.append({"change": "修改", "kind": "地区", "key": r["code"], "fields": fields})
    wanted = {r["code"] for r in regions}
    for code, old in current.items():
        if code not in wanted and old["active"]:
            out.append({"change": "停用", "kind": "地区", "key": code, "fields": {"active": (True, False)}})
    return out


EDIT_FIELDS = ("code", "name", "parent_code", "jurisdiction_code", "level", "depth", "sort_order",
               "aliases")


def replay_region_edits(con) -> int:
    """Apply the web's region edits, oldest first, over the tree `init` just loaded from
    targets/ (inside the caller's transaction). Returns how many edits were replayed."""
    edits = con.execute("SELECT code, change, region FROM region_edits ORDER BY edit_id").fetchall()
    for code, change, region in edits:
        if change == "停用":
            con.execute("UPDATE regions SET active = FALSE WHERE code = ?", [code])
            continue
        r = json.loads(region)
        con.execute("INSERT OR REPLACE INTO regions VALUES (?,?,?,?,?,?,?,TRUE)", [
            r["code"], r["name"], r["parent_code"], r["jurisdiction_code"], r["level"], r["depth"],
            r["sort_order"]])
        con.execute("DELETE FROM region_aliases WHERE region_code = ?", [r["code"]])
        for alias in r["aliases"]:
            con.execute("INSERT OR REPLACE INTO region_aliases VALUES (?, ?)", [alias, r["code"]])
    return len(edits)


def apply_regions(con, regions: list[dict], user: str) -> list[dict]:
    changes = diff_regions(con, regions)
    if not changes:
        return changes
    with db.transaction(con):
        for r in regions:
            con.execute("INSERT OR REPLACE INTO regions VALUES (?,?,?,?,?,?,?,TRUE)", [
                r["code"], r["name"], r["parent_code"], r["jurisdiction_code"], r["level"],
                r["depth"], r["sort_order"]])
        for ch in changes:
            if ch["change"] == "停用":
                con.execute("UPDATE regions SET active = FALSE WHERE code = ?", [ch["key"]])
        con.execute("DELETE FROM region_aliases")
        for r in regions:
            for alias in r["aliases"]:
                con.execute("INSERT OR REPLACE INTO region_aliases VALUES (?, ?)", [alias, r["code"]])
        by_code = {r["code"]: r for r in regions}
        now = dt.datetime.now()
        for ch in changes:                 # kept so that a later `init` does not undo them
            r = by_code.get(ch["key"])
            con.execute("INSERT INTO region_edits (applied_at, applied_by, code, change, region) "
                        "VALUES (?, ?, ?, ?, ?)", [now, user, ch["key"], ch["change"], None if r is None
                                                   or ch["change"] == "停用" else json.dumps(
                            {k: sorted(r[k]) if k == "aliases" else r[k] for k in EDIT_FIELDS}, ensure_ascii=False)])
        db.audit(con, user, "regions.apply", None, "ok", {
            "changes": [{"change": c["change"], "key": c["key"]} for c in changes]})
        from pipelines.metrics import figure_table
        figure_table.mark_all(con, now)          # a tree change reaches every roll-up above it
    figure_table.refresh(con)
    return changes
