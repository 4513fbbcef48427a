"""The region trees as an Excel sheet: download, edit, read back into region nodes checked by
the same typed catalog as targets/regions.yaml (pipelines/catalog/model.py: the catalog's
messages, placed at the code's row), diff, apply (regions are not versioned; every change is
audited, and a region left out of the sheet is deactivated, never deleted)."""
from __future__ import annotations

import datetime as dt
import json
import re

from pipelines import db
from pipelines.catalog.definitions import EDIT_FIELDS
from pipelines.catalog.model import Issue, Region, flatten_regions
from pipelines.catalog.sheets import SheetError, code_text, header, parsed_workbook, sheet_rows

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


def read_region_workbook(source, parser=None) -> list[Region]:
    """Validated, flattened regions from an uploaded region sheet, read in a bounded worker
    (`source` as in target_sheets.parsed_workbook). Raises SheetError listing every issue."""
    wb = parsed_workbook(source, parser, "请上传由本系统导出的地区表 .xlsx")
    if wb.sheet("地区") is None:
        raise SheetError([Issue("缺少工作表“地区”：请使用系统导出的地区表")])
    problems: list[Issue] = []
    rows, where = [], {}
    for row_no, v in sheet_rows(wb.sheet("地区"), REGION_COLUMNS, problems):
        code = code_text(v["地区编码"])
        aliases = [a.strip() for a in re.split(r"[、,，;；]", str(v["别名"] or "")) if a.strip()]
        if code in where:
            problems.append(Issue(f"地区编码 {code} 与第 {where[code]} 行重复", sheet="地区", cell=f"A{row_no}"))
            continue
        if code:
            where[code] = row_no
        # the node as regions.yaml writes it; its parent and row are kept beside it
        rows.append(({"code": code, "name": v["地区名称"], "level": v["层级"], "aliases": aliases,
                      "children": []}, code_text(v["上级编码"]), row_no))
    by_code = {node["code"]: node for node, _, _ in rows if node["code"]}
    roots = []
    for node, parent, row_no in rows:
        if parent is None:
            roots.append(node)
        elif parent not in by_code:
            problems.append(Issue(f"上级编码 {parent} 不在表中", sheet="地区", cell=f"C{row_no}"))
        else:
            by_code[parent]["children"].append(node)
    flat, issues = flatten_regions(roots, "地区表")
    reached = {r.code for r in flat}
    for node, parent, row_no in rows:
        if node["code"] and node["code"] not in reached and parent in by_code:
            problems.append(Issue("上级关系成环，未连接到任何辖区", sheet="地区", cell=f"C{row_no}"))
    for issue in issues:         # the catalog's message, at the row of the region it is about
        row_no = where.get(issue.item[1]) if issue.item else None
        problems.append(issue.at("地区", f"A{row_no}" if row_no else None))
    if problems:
        raise SheetError(problems)
    return flat


def diff_regions(con, regions: list[Region]) -> list[dict]:
    aliases = _aliases(con)
    current = {r[0]: {"name": r[1], "parent_code": r[2], "level": r[3], "active": r[4],
                      "aliases": sorted(aliases.get(r[0], []))}
               for r in con.execute("SELECT code, name, parent_code, level, active FROM regions").fetchall()}
    out = []
    for r in regions:
        new = {"name": r.name, "parent_code": r.parent_code, "level": r.level, "aliases": sorted(r.aliases)}
        old = current.get(r.code)
        if old is None:
            out.append({"change": "新增", "kind": "地区", "key": r.code,
                        "fields": {k: (None, new[k]) for k in REGION_FIELDS}})
            continue
        fields = {k: (old[k], new[k]) for k in REGION_FIELDS if old[k] != new[k]}
        if not old["active"]:
            fields["active"] = (False, True)
        if fields:
            out.append({"change": "修改", "kind": "地区", "key": r.code, "fields": fields})
    wanted = {r.code for r in regions}
    for code, old in current.items():
        if code not in wanted and old["active"]:
            out.append({"change": "停用", "kind": "地区", "key": code, "fields": {"active": (True, False)}})
    return out


def apply_regions(con, regions: list[Region], user: str) -> list[dict]:
    changes = diff_regions(con, regions)
    if not changes:
        return changes
    regions = [r.row() for r in regions]
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
