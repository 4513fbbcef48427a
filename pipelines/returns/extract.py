"""Extract the raw rows of a return, whatever its layout: the system's template or a long table.

The extractor finds header rows, skips titles, blank rows, label rows and notes, cleans numbers
(text, full-width digits, thousands separators) and records the cell of every value. It does not
decide whether a region, indicator or period is known: that is validation (validate.py, GX).
A cell that cannot be cleaned becomes an error naming its sheet and cell.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from pipelines.returns.cells import (CellError, address, clean_text, is_blank, match_key,
                                     parse_number)
from pipelines.returns.workbook import Sheet, Workbook

META_SHEET = "_meta"
TEMPLATE_VERSION = "1"
HEADER_SCAN_ROWS = 10

# Header synonyms (after match_key and dropping a trailing "(…)" explanation).
ROLES = {
    "region": ("地区", "地区名称", "区县", "县(市、区)", "填报单位", "行政区划"),
    "region_code": ("地区编码", "行政区划代码", "区划代码"),
    "period": ("统计期", "期间", "月份", "季度", "统计期间", "报告期", "统计月份", "年月"),
    "indicator": ("指标", "指标名称"),
    "indicator_code": ("指标编码", "指标代码"),
    "numerator": ("分子",),
    "value": ("数值", "数量", "值"),
    "denominator": ("分母",),
    "note": ("备注", "说明"),
}
_ROLE_OF = {match_key(s): role for role, names in ROLES.items() for s in names}
_PAREN = re.compile(r"\(.*\)$")
_NOTE = re.compile(r"^(注|说明|填报说明|填表说明|备注|制表|填表|审核|复核|负责人|单位负责人|联系|"
                   r"签字|签名|盖章|日期|填报日期|统计员|经办人|分管领导|\*)")
_TOTAL = {"合计", "总计", "小计", "全市合计", "全县合计", "全区合计"}
FIX_FORMULA = "请在 Excel 中打开并保存后再上传"


@dataclass
class Issue:
    level: str            # "error" | "warning"
    sheet: str | None
    cell: str | None
    message: str
    # What the issue is (a warning's kind decides whether it must be answered: warning_answers.py):
    # rate_jump | den_swing | stock_fall | outlier_history | outlier_peers | locked | None.
    kind: str | None = None
    key: tuple | None = None          # (region_code, indicator_code, period code) of the row warned
    answer: str | None = None         # the 说明 answering a warning (备注 column or upload page)
    answer_source: str | None = None  # note | page
    required: bool = False            # a warning that must be answered before the file is submitted

    def __str__(self) -> str:
        if self.sheet:
            text = f"{self.sheet}!{self.cell}: {self.message}" if self.cell else f"{self.sheet}: {self.message}"
        else:
            text = self.message
        return text + (f"（说明：{self.answer}）" if self.answer else "")

    @property
    def answer_key(self) -> str:
        """How the upload page names this warning when it sends its answer back."""
        return f"{self.sheet or ''}!{self.cell or ''}|{self.kind or ''}"

    def as_dict(self) -> dict:
        out = {"level": self.level, "sheet": self.sheet, "cell": self.cell, "message": self.message}
        if self.kind:
            out["kind"] = self.kind
        if self.answer:
            out["answer"] = self.answer
            out["answer_source"] = self.answer_source
        return out


@dataclass
class RawRow:
    sheet: str
    row_number: int                  # 1-based, as Excel shows it
    region: str
    region_cell: str
    period: object                   # raw cell value; parsed in validation
    period_cell: str
    indicator: str
    indicator_cell: str
    numerator: float | None
    numerator_cell: str
    denominator: float | None
    denominator_cell: str | None
    note: str | None = None
    bad_cells: set = field(default_factory=set)   # cells that already carry an extractor error
    numerator_from_value: bool = False            # the number came from 数值/数量, not 分子


@dataclass
class Extraction:
    file_name: str
    layout: str | None = None        # "template" | "long"
    rows: list[RawRow] = field(default_factory=list)
    totals: list[RawRow] = field(default_factory=list)   # 合计 rows: not data, compared in validation
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


def _role(value) -> str | None:
    key = match_key(value).strip("*:：")
    if not key:
        return None
    return _ROLE_OF.get(key) or _ROLE_OF.get(_PAREN.sub("", key))


def _find_header(sheet: Sheet) -> tuple[int | None, dict[str, int]]:
    """(row index, role -> column) of the first header row, or (None, best partial map)."""
    best: dict[str, int] = {}
    for r in range(min(HEADER_SCAN_ROWS, len(sheet.rows))):
        roles: dict[str, int] = {}
        for c, v in enumerate(sheet.rows[r]):
            role = _role(v)
            if role and role not in roles:
                roles[role] = c
        has_num = "numerator" in roles or "value" in roles
        has_ind = "indicator" in roles or "indicator_code" in roles
        if has_num and has_ind and ("denominator" in roles or "value" in roles or "region" in roles):
            return r, roles
        if len(roles) > len(best):
            best = roles
    return None, best


def _cell_text(sheet: Sheet, r: int, c: int | None) -> str:
    return "" if c is None else clean_text(sheet.value(r, c))


def _is_note_row(values: list) -> bool:
    for v in values:
        if not is_blank(v):
            text = clean_text(v)
            return isinstance(v, str) and (bool(_NOTE.match(text)) or text.endswith((":", "：")))
    return False


class _RowReader:
    """Reads numbers of one sheet, collecting cleaning errors with their cells."""

    def __init__(self, sheet: Sheet, out: Extraction):
        self.sheet, self.out = sheet, out

    def error(self, cell: str, message: str) -> None:
        self.out.errors.append(Issue("error", self.sheet.name, cell, message))

    def number(self, r: int, c: int | None, what: str, bad: set) -> float | None:
        if c is None:
            return None
        cell = address(r, c)
        if cell in self.sheet.uncached:
            self.error(cell, f"{what}是公式但没有保存计算结果：{FIX_FORMULA}")
            bad.add(cell)
            return None
        try:
            return parse_number(self.sheet.value(r, c), what)
        except CellError as exc:
            self.error(cell, str(exc))
            bad.add(cell)
            return None

    def uncached_key(self, r: int, cols: list[int | None], bad: set) -> None:
        for c in cols:
            if c is not None and address(r, c) in self.sheet.uncached:
                self.error(address(r, c), f"单元格是公式但没有保存计算结果：{FIX_FORMULA}")
                bad.add(address(r, c))


def _extract_long(sheet: Sheet, header: int, roles: dict[str, int], out: Extraction) -> None:
    reader = _RowReader(sheet, out)
    rc = roles.get("region_code", roles.get("region"))
    ic = roles.get("indicator_code", roles.get("indicator"))
    pc = roles.get("period")
    nc = roles.get("numerator", roles.get("value"))
    dc = roles.get("denominator")
    missing = [n for n, ok in (("地区", rc is not None), ("统计期", pc is not None)) if not ok]
    if missing:
        out.errors.append(Issue("error", sheet.name, f"{header + 1}行",
                                f"表头缺少“{'”“'.join(missing)}”列：请在第 {header + 1} 行表头中加上"))
        return
    notes_seen = False
    for r in range(header + 1, len(sheet.rows)):
        values = sheet.rows[r]
        if _is_note_row(values):
            notes_seen = True
            continue
        region = _cell_text(sheet, r, rc)
        if not region and "region" in roles and rc != roles["region"]:
            region = _cell_text(sheet, r, roles["region"])
        indicator = _cell_text(sheet, r, ic)
        if not indicator and "indicator" in roles and ic != roles["indicator"]:
            indicator = _cell_text(sheet, r, roles["indicator"])
        period = sheet.value(r, pc)
        keys_blank = not region and not indicator and is_blank(period)
        key_cells = [rc, pc, ic, nc, dc]
        has_uncached = any(c is not None and address(r, c) in sheet.uncached for c in key_cells)
        if keys_blank and not has_uncached:
            continue                                   # blank row or a second label row
        if region in _TOTAL:
            out.totals.append(_total_row(sheet, r, roles, region, rc, pc, ic, nc, dc))
            continue
        if notes_seen and (not region or not indicator or is_blank(period)):
            continue                                   # signature lines under the notes
        bad: set = set()
        reader.uncached_key(r, [rc, pc, ic], bad)
        row_nc = nc
        if "value" in roles and nc != roles["value"] and is_blank(sheet.value(r, nc)) \
                and address(r, nc) not in sheet.uncached:
            row_nc = roles["value"]                    # a count given under 数值
        numerator = reader.number(r, row_nc, "分子", bad)
        denominator = reader.number(r, dc, "分母", bad)
        note = _cell_text(sheet, r, roles.get("note")) or None
        out.rows.append(RawRow(
            sheet.name, r + 1, region, address(r, rc), period, address(r, pc), indicator,
            address(r, ic), numerator, address(r, row_nc), denominator,
            address(r, dc) if dc is not None else None, note, bad,
            numerator_from_value=row_nc is not None and row_nc == roles.get("value")))


def _total_row(sheet: Sheet, r: int, roles: dict[str, int], region: str, rc, pc, ic, nc, dc) -> RawRow:
    """A 合计 line, read leniently (it is not data: validation only compares it with the sum)."""
    def quiet(c):
        if c is None:
            return None
        try:
            return parse_number(sheet.value(r, c), "")
        except CellError:
            return None
    indicator = _cell_text(sheet, r, ic)
    if not indicator and "indicator" in roles:
        indicator = _cell_text(sheet, r, roles["indicator"])
    row_nc = nc
    if "value" in roles and nc != roles["value"] and is_blank(sheet.value(r, nc)):
        row_nc = roles["value"]
    return RawRow(sheet.name, r + 1, region, address(r, rc), sheet.value(r, pc), address(r, pc),
                  indicator, address(r, ic), quiet(row_nc), address(r, row_nc), quiet(dc),
                  address(r, dc) if dc is not None else None)


def _labelled_value(sheet: Sheet, upto: int, labels: tuple[str, ...]) -> tuple[object, str | None]:
    """Value right of a label cell (地区：, 统计期：) above the header; (value, cell)."""
    keys = {match_key(x) for x in labels}
    for r in range(min(upto, len(sheet.rows))):
        row = sheet.rows[r]
        for c, v in enumerate(row):
            if match_key(v).strip(":：") in keys:
                for c2 in range(c + 1, len(row)):
                    if not is_blank(row[c2]):
                        return row[c2], address(r, c2)
                return None, address(r, c + 1)
    return None, None


def _read_meta(wb: Workbook) -> dict[str, tuple[object, str]]:
    sheet = wb.sheet(META_SHEET)
    if sheet is None:
        return {}
    out = {}
    for r, row in enumerate(sheet.rows):
        if row and not is_blank(row[0]) and len(row) > 1:
            out[clean_text(row[0])] = (row[1], address(r, 1))
    return out


def _extract_template(sheet: Sheet, header: int, roles: dict[str, int], wb: Workbook, out: Extraction,
                      region_lookup: Callable[[str], str | None] | None) -> None:
    from pipelines.periods import PeriodError, parse_period

    meta = _read_meta(wb)
    name_val, name_cell = _labelled_value(sheet, header, ("地区", "填报地区", "地区名称"))
    code_val, code_cell = _labelled_value(sheet, header, ("地区编码",))
    per_val, per_cell = _labelled_value(sheet, header, ("统计期", "填报期间"))
    region_text, region_cell = clean_text(code_val) or clean_text(name_val), code_cell if clean_text(code_val) else name_cell
    period_value = per_val
    if meta:
        meta_region, meta_region_cell = meta.get("region_code", (None, "B1"))
        meta_period, meta_period_cell = meta.get("period", (None, "B2"))
        mref = f"{META_SHEET}!{meta_region_cell}"
        visible_code = clean_text(code_val)
        if not visible_code and name_val is not None and region_lookup is not None:
            visible_code = region_lookup(clean_text(name_val)) or clean_text(name_val)
        if visible_code and visible_code != clean_text(meta_region):
            out.errors.append(Issue("error", sheet.name, region_cell,
                                    f"表内地区“{clean_text(code_val) or clean_text(name_val)}”与隐藏信息表 {mref} 中的地区"
                                    f"“{clean_text(meta_region)}”不一致：请重新下载本地区的模板填报，不要修改地区"))
        try:
            visible_period = parse_period(per_val).code if not is_blank(per_val) else None
        except PeriodError:
            visible_period = clean_text(per_val)
        try:
            meta_code = parse_period(meta_period).code
        except PeriodError:
            meta_code = clean_text(meta_period)
        if visible_period and visible_period != meta_code:
            out.errors.append(Issue("error", sheet.name, per_cell,
                                    f"表内统计期“{clean_text(per_val)}”与隐藏信息表 {META_SHEET}!{meta_period_cell} 中的统计期"
                                    f"“{clean_text(meta_period)}”不一致：请重新下载该统计期的模板填报，不要修改统计期"))
        region_text, period_value = clean_text(meta_region) or region_text, meta_period
        region_cell = region_cell or mref
        per_cell = per_cell or f"{META_SHEET}!{meta_period_cell}"
    if not region_text:
        out.errors.append(Issue("error", sheet.name, region_cell or "B2", "模板中没有填写地区：请重新下载模板"))
        return
    reader = _RowReader(sheet, out)
    ic, nmc = roles.get("indicator_code"), roles.get("indicator")
    nc = roles.get("numerator", roles.get("value"))
    dc = roles.get("denominator")
    unfilled = []
    for r in range(header + 1, len(sheet.rows)):
        values = sheet.rows[r]
        if _is_note_row(values):
            continue
        indicator = _cell_text(sheet, r, ic) or _cell_text(sheet, r, nmc)
        if not indicator:
            continue
        num_blank = is_blank(sheet.value(r, nc)) and address(r, nc) not in sheet.uncached
        den_blank = dc is None or (is_blank(sheet.value(r, dc)) and address(r, dc) not in sheet.uncached)
        if num_blank and den_blank:
            unfilled.append(_cell_text(sheet, r, nmc) or indicator)
            continue
        bad: set = set()
        numerator = reader.number(r, nc, "分子", bad)
        denominator = reader.number(r, dc, "分母", bad)
        note = _cell_text(sheet, r, roles.get("note")) or None
        out.rows.append(RawRow(
            sheet.name, r + 1, region_text, region_cell, period_value, per_cell or "B3", indicator,
            address(r, ic if _cell_text(sheet, r, ic) else nmc), numerator, address(r, nc), denominator,
            address(r, dc) if dc is not None else None, note, bad,
            numerator_from_value="numerator" not in roles))
    if unfilled and out.rows:
        out.warnings.append(Issue("warning", sheet.name, None,
                                  f"以下指标未填写，视为未报送：{'、'.join(unfilled)}"))


def extract(wb: Workbook, file_name: str,
            region_lookup: Callable[[str], str | None] | None = None) -> Extraction:
    """All raw rows of a workbook (both layouts, every visible data sheet)."""
    out = Extraction(file_name)
    partial: list[tuple[str, dict]] = []
    for sheet in wb.sheets:
        if not sheet.visible or sheet.name == META_SHEET:
            continue
        header, roles = _find_header(sheet)
        if header is None:
            if len(roles) >= 2:
                partial.append((sheet.name, roles))
            continue
        is_template = "region" not in roles and "region_code" not in roles and "period" not in roles
        layout = "template" if is_template else "long"
        out.layout = out.layout or layout
        if is_template:
            _extract_template(sheet, header, roles, wb, out, region_lookup)
        else:
            _extract_long(sheet, header, roles, out)
    if out.layout is None and not out.errors:
        if partial:
            name, roles = partial[0]
            have = {k for k in roles}
            need = [label for label, keys in (("地区", {"region", "region_code"}), ("统计期", {"period"}),
                                              ("指标", {"indicator", "indicator_code"}),
                                              ("分子", {"numerator", "value"}), ("分母", {"denominator", "value"}))
                    if not have & keys]
            out.errors.append(Issue("error", name, None,
                                    f"表头缺少“{'”“'.join(need)}”列：长表的表头（前 {HEADER_SCAN_ROWS} 行内）需包含"
                                    "地区、统计期、指标、分子、分母；或使用系统下载的报送模板"))
        else:
            out.errors.append(Issue("error", None, None,
                                    f"没有找到数据表头：请使用系统下载的报送模板，或在前 {HEADER_SCAN_ROWS} 行内设置含"
                                    "“地区、统计期、指标、分子、分母”的表头"))
    elif not out.rows and not out.errors:
        out.errors.append(Issue("error", None, None, "文件中没有任何数据行：请填写后再上传"))
    return out
