"""Targets maintenance through Excel: a plan's targets (and baselines) as a workbook, read back
into the shape of a plans/*.yaml and checked by the same typed catalog (pipelines/catalog/
model.py): every issue at once, each the catalog's own message placed at its sheet and cell
(the entry's row, the field's column), shown as a diff, applied versioned with origin
'web:<user>'.

Sheets of a plan workbook: 目标 (one target per row), 基期值 (baselines), 方案 (read-only facts),
说明. The plan's identity comes from 方案!B1 (方案编码); its other facts are not editable here.
An uploaded workbook is read by a bounded worker process (pipelines.returns.parse_worker) into cell
values; only those values reach this process.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipelines import db
from pipelines.catalog.definitions import warehouse_indicators, warehouse_regions
from pipelines.catalog.model import (BASELINE_COMPARE, BASELINE_LABELS, TARGET_COMPARE, TARGET_LABELS, Baseline,
                                     Issue, Target, check_plan)
from pipelines.catalog.sheets import (SheetError, cell_value, code_text, header, neutral_text,
                                      parsed_workbook, sheet_rows)
from pipelines.returns.cells import col_letter

TARGET_COLUMNS = ("指标编码", "指标名称", "地区编码", "地区名称", "档次", "比较符", "目标值", "年度",
                  "截止日期", "起始日期", "生效日期", "口径", "判定", "条款", "原文")
OPTIONAL_COLUMNS = {"判定"}     # sheets exported before it existed still read
BASELINE_COLUMNS = ("指标编码", "地区编码", "统计期", "数值", "条款")
# The column of each field of a target / baseline (where the catalog's issue is shown): its label.
TARGET_FIELD_COLUMNS = TARGET_LABELS
BASELINE_FIELD_COLUMNS = BASELINE_LABELS


@dataclass
class PlanEdit:
    plan_code: str
    targets: list[Target] = field(default_factory=list)
    baselines: list[Baseline] = field(default_factory=list)


# --- writing -------------------------------------------------------------------------------

def plan_choices(con) -> list[tuple[str, str]]:
    """(code, title) of every plan (the admin page's picker)."""
    return con.execute("SELECT code, title FROM plans ORDER BY code").fetchall()


def write_plan_sheet(con, plan_code: str, out) -> None:
    from openpyxl import Workbook
    plan = con.execute("SELECT code, title, doc_number, issued, jurisdiction_code, year_from, year_to, "
                       "source_file FROM plans WHERE code = ?", [plan_code]).fetchone()
    if plan is None:
        raise SheetError([f"方案 {plan_code} 不存在：请从管理页面的方案列表中选择"])
    wb = Workbook()
    ws = wb.active
    ws.title = "目标"
    header(ws, TARGET_COLUMNS)
    rows = con.execute(
        "SELECT t.indicator_code, i.name, t.region_code, r.name, t.tier, t.comparator, t.value, "
        "t.timing, t.year_from, t.deadline, t.effective, t.basis, t.judge, t.clause, t.text FROM targets t "
        "LEFT JOIN indicators i ON i.code = t.indicator_code LEFT JOIN regions r ON r.code = t.region_code "
        "WHERE t.plan_code = ? AND t.valid_to IS NULL ORDER BY t.target_id", [plan_code]).fetchall()
    for ind, ind_name, reg, reg_name, tier, comp, value, timing, year_from, deadline, eff, basis, \
            judge, clause, text in rows:
        ws.append([ind, ind_name, reg, reg_name, tier, comp, value,
                   year_from if timing == "year" else None,
                   deadline if timing == "deadline" else None,
                   eff if timing == "from" else None, eff, basis, judge, neutral_text(clause),
                   neutral_text(text)])
    for row in ws.iter_rows(min_row=2):
        for cell in (row[8], row[9], row[10]):
            cell.number_format = "yyyy-mm-dd"
        row[2].number_format = "@"
    bs = wb.create_sheet("基期值")
    header(bs, BASELINE_COLUMNS)
    for r in con.execute("SELECT indicator_code, region_code, period, value, clause FROM baselines "
                         "WHERE plan_code = ? AND valid_to IS NULL ORDER BY baseline_id",
                         [plan_code]).fetchall():
        bs.append([r[0], r[1], r[2], r[3], neutral_text(r[4])])
    ps = wb.create_sheet("方案")
    for label, value in zip(("方案编码", "标题", "文号", "发布日期", "辖区", "起始年", "结束年", "来源"), plan):
        ps.append([label, value])
    ps.column_dimensions["A"].width = 12
    ps.column_dimensions["B"].width = 60
    notes = wb.create_sheet("说明")
    for line in ("每行一个目标。年度、截止日期、起始日期三者必须且只能填一个。",
                 "比较符：>= 或 <=；目标值为数字（百分比指标填 0–100）；口径：period（当期）、ytd（累计）或 year。",
                 "判定：hold（每期都须达到目标）或 reach（期限前按序时进度、期限起按目标）；空着按指标类型默认。",
                 "生效日期可空（默认为期限所在年份的 1 月 1 日）；档次默认“基本目标”。",
                 "指标名称、地区名称两列仅供阅读，系统以编码为准。删除一行即停用该目标。",
                 "“方案”表只读：方案编码用于识别方案，其余信息不会被修改。"):
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    wb.save(out)


# --- reading -------------------------------------------------------------------------------

def read_plan_workbook(con, source, parser=None) -> PlanEdit:
    """Read (in a bounded worker) and validate an edited plan workbook: `source` as in
    parsed_workbook. Raises SheetError listing every issue, each at its cell."""
    wb = parsed_workbook(source, parser)
    problems: list[Issue] = []
    for name in ("目标", "方案"):
        if wb.sheet(name) is None:
            problems.append(Issue(f"缺少工作表“{name}”：请使用系统导出的目标表"))
    if problems:
        raise SheetError(problems)
    plan_code = code_text(cell_value(wb.sheet("方案").value(0, 1)))
    plan = con.execute("SELECT code, title, doc_number, issued, jurisdiction_code, year_from, year_to "
                       "FROM plans WHERE code = ?", [plan_code]).fetchone()
    if plan is None:
        raise SheetError([Issue(f"方案编码“{plan_code}”不存在，请勿修改“方案”表", sheet="方案", cell="B1")])
    doc = {"plan": {"code": plan[0], "title": plan[1], "doc_number": plan[2], "issued": plan[3],
                    "jurisdiction": plan[4], "years": [plan[5], plan[6]]},
           "targets": [], "baselines": []}
    rows = {"目标": [], "基期值": []}
    for row_no, v in sheet_rows(wb.sheet("目标"), TARGET_COLUMNS, problems, OPTIONAL_COLUMNS):
        t = {key: v.get(name) for key, name in TARGET_FIELD_COLUMNS.items() if v.get(name) is not None}
        t["indicator"], t["region"] = code_text(v["指标编码"]), code_text(v["地区编码"])
        t["comparator"], t["value"] = v["比较符"], _sheet_number(v["目标值"])
        if isinstance(t.get("year"), float) and t["year"].is_integer():
            t["year"] = int(t["year"])
        doc["targets"].append(t)
        rows["目标"].append(row_no)
    if wb.sheet("基期值") is not None:
        for row_no, v in sheet_rows(wb.sheet("基期值"), BASELINE_COLUMNS, problems):
            doc["baselines"].append({"indicator": code_text(v["指标编码"]), "region": code_text(v["地区编码"]),
                                     "period": code_text(v["统计期"]), "value": v["数值"], "clause": v["条款"]})
            rows["基期值"].append(row_no)
    checked = check_plan(doc, "目标表", warehouse_indicators(con), warehouse_regions(con))
    columns = {"目标": TARGET_FIELD_COLUMNS, "基期值": BASELINE_FIELD_COLUMNS}
    for issue in checked.issues:
        problems.append(_at_cell(issue, rows, columns))
    if problems:
        raise SheetError(problems)
    return PlanEdit(plan_code=plan[0], targets=checked.targets, baselines=checked.baselines)


def _sheet_number(value):
    """A target value typed as text ('70', '70%', '1,200') read as the number it says."""
    if isinstance(value, str):
        try:
            return float(value.replace(",", "").replace("%", ""))
        except ValueError:
            pass
    return value


def _at_cell(issue: Issue, rows: dict[str, list[int]], columns: dict[str, dict[str, str]]) -> Issue:
    """The catalog's issue about entry (section, i) and a field, shown at that row's cell."""
    if issue.item is None or issue.item[0] not in rows:
        return issue.at("目标")
    section, index = issue.item
    heads = TARGET_COLUMNS if section == "目标" else BASELINE_COLUMNS
    column = columns[section].get(issue.field or "", heads[0])
    return issue.at(section, f"{col_letter(heads.index(column))}{rows[section][index]}")


# --- diff and apply ------------------------------------------------------------------------

def _current(con, table: str, key_col: str, plan_code: str) -> dict:
    cur = con.execute(f"SELECT * FROM {table} WHERE plan_code = ? AND valid_to IS NULL", [plan_code])
    names = [d[0] for d in cur.description]
    return {r[key_col]: r for r in (dict(zip(names, row)) for row in cur.fetchall())}


def _same(a, b) -> bool:
    if isinstance(a, dt.datetime):
        a = a.date()
    if isinstance(a, float) and isinstance(b, int | float):
        return abs(a - float(b)) < 1e-9
    return a == b


def diff_plan(con, edit: PlanEdit) -> list[dict]:
    """Changes the edit would make: {change 新增|修改|停用, kind 目标|基期值, key, fields: {name: (old, new)}}."""
    out = []
    for kind, table, key_col, compare, rows in (
            ("目标", "targets", "target_key", TARGET_COMPARE, edit.targets),
            ("基期值", "baselines", "baseline_key", BASELINE_COMPARE, edit.baselines)):
        current = _current(con, table, key_col, edit.plan_code)
        wanted = {r[key_col]: r for r in (x.row() for x in rows)}
        for key, row in wanted.items():
            old = current.get(key)
            if old is None:
                out.append({"change": "新增", "kind": kind, "key": key,
                            "fields": {c: (None, row.get(c)) for c in compare}})
                continue
            fields = {c: (old[c], row.get(c)) for c in compare if not _same(old[c], row.get(c))}
            if fields:
                out.append({"change": "修改", "kind": kind, "key": key, "fields": fields})
        for key, old in current.items():
            if key not in wanted:
                out.append({"change": "停用", "kind": kind, "key": key,
                            "fields": {c: (old[c], None) for c in compare}})
    return out


def apply_plan(con, edit: PlanEdit, user: str, now: dt.datetime | None = None) -> list[dict]:
    """Apply the edit in one transaction: changed rows are versioned, removed rows closed."""
    now = now or dt.datetime.now()
    changes = diff_plan(con, edit)
    if not changes:
        return changes
    origin = f"web:{user}"
    by_key = {("目标", r.target_key): r.row() for r in edit.targets}
    by_key.update({("基期值", r.baseline_key): r.row() for r in edit.baselines})
    with db.transaction(con):
        for ch in changes:
            table, key_col = (("targets", "target_key") if ch["kind"] == "目标"
                              else ("baselines", "baseline_key"))
            if ch["change"] in ("修改", "停用"):
                con.execute(f"UPDATE {table} SET valid_to = ? WHERE {key_col} = ? AND plan_code = ? "
                            "AND valid_to IS NULL", [now, ch["key"], edit.plan_code])
            if ch["change"] in ("新增", "修改"):
                row = by_key[(ch["kind"], ch["key"])]
                cols = list(row)
                con.execute(f"INSERT INTO {table} ({', '.join(cols)}, origin, valid_from) VALUES "
                            f"({', '.join('?' for _ in cols)}, ?, ?)", [row[c] for c in cols] + [origin, now])
        db.audit(con, user, "targets.apply", edit.plan_code, "ok", {
            "changes": [{"change": c["change"], "kind": c["kind"], "key": c["key"]} for c in changes]})
        from pipelines.metrics import figure_table
        jur = con.execute("SELECT jurisdiction_code FROM plans WHERE code = ?", [edit.plan_code]).fetchone()[0]
        figure_table.mark(con, jur, now=now)
    figure_table.refresh(con)
    return changes
