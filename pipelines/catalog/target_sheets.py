"""Targets maintenance through Excel: a plan's targets (and baselines) or the region trees as
a workbook, read back with the same validation rules as targets/ (catalog.py), every problem at
once with its cell, shown as a diff, applied versioned with origin 'web:<user>'.

Sheets of a plan workbook: 目标 (one target per row), 基期值 (baselines), 方案 (read-only facts),
说明. The plan's identity comes from 方案!B1 (方案编码); its other facts are not editable here.
An uploaded workbook is read by a bounded worker process (pipelines.returns.parse_worker) into cell
values; only those values reach this process.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from pipelines import db
from pipelines.catalog.definitions import TARGET_COMPARE, _check_plan
from pipelines.catalog.suggest import did_you_mean
from pipelines.returns.cells import col_letter
from pipelines.returns.workbook import Sheet
from pipelines.returns.workbook import Workbook as ParsedWorkbook

TARGET_COLUMNS = ("指标编码", "指标名称", "地区编码", "地区名称", "档次", "比较符", "目标值", "年度",
                  "截止日期", "起始日期", "生效日期", "口径", "判定", "条款", "原文")
OPTIONAL_COLUMNS = {"判定"}     # sheets exported before it existed still read
BASELINE_COLUMNS = ("指标编码", "地区编码", "统计期", "数值", "条款")
BASELINE_COMPARE = ("value", "clause")
# Words in catalog.py's messages → the column they are about (for the cell reference).
_MESSAGE_COLUMNS = (("未知指标", "指标编码"), ("未知地区", "地区编码"), ("不属于本方案辖区", "地区编码"),
                    ("comparator", "比较符"), ("比较符", "比较符"), ("百分比目标", "目标值"),
                    ("value", "目标值"), ("basis", "口径"), ("judge", "判定"), ("effective", "生效日期"),
                    ("year、deadline、from", "年度"), ("year", "年度"), ("deadline", "截止日期"),
                    ("from", "起始日期"), ("期限", "年度"), ("重复", "指标编码"))
_TIMING_COLUMN = {"year": "年度", "deadline": "截止日期", "from": "起始日期"}


class SheetError(ValueError):
    """The workbook cannot be used; `problems` lists every issue as 'sheet!cell: message'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("表格中发现 %d 个问题：\n" % len(problems) + "\n".join(problems))


@dataclass
class PlanEdit:
    plan_code: str
    targets: list[dict] = field(default_factory=list)
    baselines: list[dict] = field(default_factory=list)


# --- writing -------------------------------------------------------------------------------

def header(ws, columns) -> None:
    from openpyxl.styles import Font, PatternFill
    ws.append(list(columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE6F0")
    ws.freeze_panes = "A2"
    for i, name in enumerate(columns):
        ws.column_dimensions[chr(65 + i)].width = max(10, min(40, len(name) * 4))


def plan_choices(con) -> list[tuple[str, str]]:
    """(code, title) of every plan (the admin page's picker)."""
    return con.execute("SELECT code, title FROM plans ORDER BY code").fetchall()


def neutral_text(value):
    """Cell text from stored data; formula-like strings are neutralised."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


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

def _cell_value(v):
    if isinstance(v, str):
        v = v.strip().lstrip("'") if v.strip().startswith("'") else v.strip()
        return v or None
    if isinstance(v, dt.datetime):
        return v.date()
    return v


def code_text(v) -> str | None:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return None if v is None else str(v).strip() or None


def sheet_rows(sheet: Sheet, columns, problems):
    """(row number, {column: value}) of each non-blank row under the header in row 1."""
    header = [(_cell_value(v) or "") for v in sheet.rows[0]] if sheet.rows else []
    where = {}
    unknown = [(i, h) for i, h in enumerate(header) if h and h not in columns]
    for i, h in unknown:        # a misspelt or foreign column is not read silently
        problems.append(f"{sheet.name}!{col_letter(i)}1: 未知列“{h}”{did_you_mean(h, columns)}"
                        f"（本表的列：{'、'.join(columns)}）：请改正列名，或删除该列")
    for name in columns:
        if name in header:
            where[name] = header.index(name)
        elif name not in OPTIONAL_COLUMNS:
            problems.append(f"{sheet.name}!1: 缺少列“{name}”，请使用系统导出的表格")
    if unknown:
        return
    if len(where) != len([c for c in columns if c in header or c not in OPTIONAL_COLUMNS]):
        return
    for number, row in enumerate(sheet.rows[1:], start=2):
        values = {name: _cell_value(row[i]) if i < len(row) else None for name, i in where.items()}
        if all(v is None for v in values.values()):
            continue
        yield number, values


def parsed_workbook(source, parser=None,
                    what: str = "请上传由本系统导出并用 Excel/WPS 保存的 .xlsx") -> ParsedWorkbook:
    """An uploaded sheet as cell values, read by a bounded worker (pipelines.returns.parse_worker).

    `source`: a Workbook already parsed, a path, or (file_name, bytes). SheetError if unreadable.
    """
    from pathlib import Path

    from pipelines.returns.parse_worker import ParsePool
    from pipelines.returns.workbook import WorkbookError
    if isinstance(source, ParsedWorkbook):
        return source
    name, data = (source if isinstance(source, tuple) else (Path(source).name, Path(source).read_bytes()))
    try:
        if parser is not None:
            return parser.read_sheets(str(name), bytes(data))
        with ParsePool() as pool:
            return pool.read_sheets(str(name), bytes(data))
    except WorkbookError as exc:
        where = f"{exc.sheet}!{exc.cell}: " if exc.sheet and exc.cell else f"{exc.sheet}: " if exc.sheet else ""
        raise SheetError([f"{where}无法读取文件：{exc}（{what}）"]) from None


def read_plan_workbook(con, source, parser=None) -> PlanEdit:
    """Read (in a bounded worker) and validate an edited plan workbook: `source` as in
    parsed_workbook. Raises SheetError listing every problem."""
    wb = parsed_workbook(source, parser)
    problems: list[str] = []
    for name in ("目标", "方案"):
        if wb.sheet(name) is None:
            problems.append(f"缺少工作表“{name}”：请使用系统导出的目标表")
    if problems:
        raise SheetError(problems)
    plan_code = code_text(_cell_value(wb.sheet("方案").value(0, 1)))
    plan = con.execute("SELECT code, title, doc_number, issued, jurisdiction_code, year_from, year_to "
                       "FROM plans WHERE code = ?", [plan_code]).fetchone()
    if plan is None:
        raise SheetError([f"方案!B1: 方案编码“{plan_code}”不存在，请勿修改“方案”表"])
    doc = {"plan": {"code": plan[0], "title": plan[1], "doc_number": plan[2], "issued": plan[3],
                    "jurisdiction": plan[4], "years": [plan[5], plan[6]]},
           "targets": [], "baselines": []}
    target_rows, baseline_rows = [], []
    col = {name: col_letter(i) for i, name in enumerate(TARGET_COLUMNS)}
    for row_no, v in sheet_rows(wb.sheet("目标"), TARGET_COLUMNS, problems):
        t = {"indicator": code_text(v["指标编码"]), "region": code_text(v["地区编码"]),
             "comparator": v["比较符"], "tier": v["档次"], "clause": v["条款"], "text": v["原文"]}
        value = v["目标值"]
        if isinstance(value, str):
            try:
                value = float(value.replace(",", "").replace("%", ""))
            except ValueError:
                pass
        t["value"] = value
        if v["口径"] is not None:
            t["basis"] = v["口径"]
        if v.get("判定") is not None:
            t["judge"] = v["判定"]
        for key, name in (("year", "年度"), ("deadline", "截止日期"), ("from", "起始日期"),
                          ("effective", "生效日期")):
            if v[name] is not None:
                t[key] = v[name]
        if isinstance(t.get("year"), float) and t["year"].is_integer():
            t["year"] = int(t["year"])
        doc["targets"].append(t)
        target_rows.append(row_no)
    if wb.sheet("基期值") is not None:
        for row_no, v in sheet_rows(wb.sheet("基期值"), BASELINE_COLUMNS, problems):
            doc["baselines"].append({"indicator": code_text(v["指标编码"]), "region": code_text(v["地区编码"]),
                                     "period": code_text(v["统计期"]), "value": v["数值"], "clause": v["条款"]})
            baseline_rows.append(row_no)
    ind_by_code = {r[0]: {"code": r[0], "unit": r[1], "direction": r[2], "kind": r[3]} for r in
                   con.execute("SELECT code, unit, direction, kind FROM indicators").fetchall()}
    region_by_code = {r[0]: {"code": r[0], "jurisdiction_code": r[1]} for r in
                      con.execute("SELECT code, jurisdiction_code FROM regions").fetchall()}
    semantic: list[str] = []
    _, targets, baselines, _ = _check_plan(doc, "目标表", ind_by_code, region_by_code, semantic)
    for message in semantic:
        problems.append(_locate(message, target_rows, baseline_rows, col))
    if problems:
        raise SheetError(problems)
    return PlanEdit(plan_code=plan[0], targets=targets, baselines=baselines)


def _locate(message: str, target_rows, baseline_rows, col) -> str:
    """catalog.py says 'file: 目标 #3 (ind @ reg): text' — name the sheet and cell instead."""
    m = re.match(r"目标表: (目标|基期值) #(\d+) \(([^)]*)\): (.*)$", message, flags=re.S)
    if not m:
        return message.replace("目标表: ", "")
    kind, n, text = m.group(1), int(m.group(2)), m.group(4)
    if kind == "基期值":
        return f"基期值!A{baseline_rows[n - 1]}: {text}"
    column = "指标编码"
    for word, name in _MESSAGE_COLUMNS:
        if word in text:
            column = name
            break
    return f"目标!{col[column]}{target_rows[n - 1]}: {sheet_words(text)}"


# catalog.py names the YAML keys of a target; a sheet's reader knows its columns by their headers.
_TIMING_WORDS = {"year": "年度", "deadline": "截止日期", "from": "起始日期"}
_SHEET_WORDS = (
    (re.compile(r"^year、deadline、from 必须且只能填一个（现为 (.*)）$", re.S),
     lambda m: "年度、截止日期、起始日期三列必须且只能填一列（现在"
               + ("都没有填" if m.group(1) == "都没有" else "填了"
                  + "、".join(_TIMING_WORDS.get(k, k) for k in re.findall(r"'(\w+)'", m.group(1))))
               + "）"),
    (re.compile(r"^comparator 应为 >= 或 <=（现为 (.*)）$", re.S),
     lambda m: f"比较符应为 >= 或 <=（现为“{'空' if m.group(1) == 'None' else m.group(1)}”）"),
    (re.compile(r"^value “(.*)” 不是数字$", re.S),
     lambda m: f"目标值“{'空' if m.group(1) == 'None' else m.group(1)}”不是数字"),
    (re.compile(r"^basis “(.*)” 应为 period、ytd 或 year$", re.S),
     lambda m: f"口径“{m.group(1)}”应为 period（当期）、ytd（累计）或 year（全年）"),
    (re.compile(r"^judge “(.*)” 应为 (.*)$", re.S), lambda m: f"判定“{m.group(1)}”应为 {m.group(2)}"),
    (re.compile(r"^effective “(.*)” 不是日期$", re.S), lambda m: f"生效日期“{m.group(1)}”不是日期"),
    (re.compile(r"^year “(.*)” 不是年份$", re.S), lambda m: f"年度“{m.group(1)}”不是年份"),
    (re.compile(r"^(deadline|from) “(.*)” 不是日期（应为 YYYY-MM-DD）$", re.S),
     lambda m: f"{_TIMING_WORDS[m.group(1)]}“{m.group(2)}”不是日期（应写成 2025-12-31 这样的日期）"),
)


def sheet_words(text: str) -> str:
    """A target problem as catalog.py words it (YAML keys), in the target sheet's column names."""
    for pattern, words in _SHEET_WORDS:
        m = pattern.match(text)
        if m:
            return words(m)
    return text


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
        wanted = {r[key_col]: r for r in rows}
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
    by_key = {("目标", r["target_key"]): r for r in edit.targets}
    by_key.update({("基期值", r["baseline_key"]): r for r in edit.baselines})
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
