"""Open an uploaded return safely: check the container, scan every sheet, then read cached values.

Only `.xlsx` and `.xlsm` (macros ignored) are read. Everything else — empty files, CSV renamed
to .xlsx, old .xls, .ods, .xlsb, Numbers, Excel 2003 XML, encrypted workbooks, corrupt zips, zip
bombs, oversized files — is refused with a Chinese message that names what the file is and the
accepted formats (ooxml_package, file_formats). Before python-calamine reads anything, every
worksheet's XML is scanned (sheet_scan) for its extent, and the grids of all sheets together are
held to `Limits.max_cells`, derived from the memory a parse worker may use: a value at
XFD1048576, cells without `r=`, or many sheets each at the limits are refused, naming the sheet.
Cells are read with python-calamine (cached values of formulas); merged cells are filled.

Run this in a bounded worker (pipelines.returns.parse_worker): calamine aborts the whole process when an
allocation fails, and only a separate process protects a server from that.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

from pipelines.returns.cells import address
from pipelines.returns.ooxml_package import (ACCEPTED, ZIP_ERRORS, Limits, Package, PackageError,
                                             open_package)
from pipelines.returns.sheet_scan import ScanError, SheetScan, date_styles, scan_sheet


class WorkbookError(ValueError):
    """The file cannot be read as a return. Chinese message; sheet/cell when they apply."""

    def __init__(self, message: str, sheet: str | None = None, cell: str | None = None):
        super().__init__(message)
        self.sheet = sheet
        self.cell = cell

    def __reduce__(self):
        return (type(self), (str(self), self.sheet, self.cell))


@dataclass
class Sheet:
    name: str
    visible: bool
    rows: list[list]                 # cached values; rows[r][c] is the cell at 0-based (r, c) from A1
    uncached: set[str] = field(default_factory=set)   # formulas saved without a value ("C7")

    def value(self, r: int, c: int):
        if r < len(self.rows) and c < len(self.rows[r]):
            return self.rows[r][c]
        return None


@dataclass
class Workbook:
    sheets: list[Sheet]

    def sheet(self, name: str) -> Sheet | None:
        return next((s for s in self.sheets if s.name == name), None)


def _check_extent(name: str, rows: int, cols: int, limits: Limits) -> None:
    if rows > limits.max_rows:
        raise WorkbookError(f"工作表有 {rows} 行，超过上限 {limits.max_rows} 行：请拆分后上传", sheet=name)
    if cols > limits.max_cols:
        raise WorkbookError(f"工作表有 {cols} 列，超过上限 {limits.max_cols} 列：请删除多余的列", sheet=name)


def _check_total(scans: dict[str, SheetScan], limits: Limits) -> None:
    """All sheets' grids (and the merged ranges to fill) together within the memory budget."""
    total = sum(s.cells + s.merged_cells for s in scans.values())
    if total <= limits.max_cells:
        return
    biggest = sorted(scans.items(), key=lambda kv: -kv[1].cells)[:3]
    detail = "、".join(f"“{n}” {s.rows} 行 × {s.cols} 列" for n, s in biggest if s.cells)
    raise WorkbookError(
        f"工作簿各工作表的数据区域合计 {total:,} 个单元格（行数 × 列数，含合并区域），超过上限 "
        f"{limits.max_cells:,} 个（读取它需要的内存超过限额）；最大的是 {detail}：请删除远处的空白或"
        "零散单元格、多余的工作表，或把数据拆到几个文件后上传",
        sheet=biggest[0][0] if len(biggest) == 1 or biggest[0][1].cells > limits.max_cells else None)


def _scan_all(pkg: Package, limits: Limits) -> dict[str, SheetScan]:
    dates = date_styles(pkg.read(pkg.styles_part, "样式部件")) if pkg.styles_part else set()
    if pkg.shared_strings_part:
        pkg.refuse_doctype(pkg.shared_strings_part, "共享字符串部件")
    scans: dict[str, SheetScan] = {}
    for sheet in pkg.worksheets:
        if sheet.name in scans:
            continue                  # the reader reads the first sheet of a name
        try:
            with pkg.open(sheet.part) as stream:
                scan = scan_sheet(stream, sheet.name, dates, limits.max_merged_ranges)
        except ScanError as exc:
            raise WorkbookError(str(exc), sheet=exc.sheet, cell=exc.cell) from None
        except ZIP_ERRORS:
            raise WorkbookError(f"文件已损坏，无法解压工作表（可能下载或复制不完整）。{ACCEPTED}",
                                sheet=sheet.name) from None
        _check_extent(sheet.name, scan.rows, scan.cols, limits)
        scans[sheet.name] = scan
    _check_total(scans, limits)
    return scans


def _is_panic(exc: BaseException) -> bool:
    """calamine's Rust panics surface as PanicException, a BaseException subclass."""
    return not isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError))


def _fill_merged(rows: list[list], ranges) -> None:
    for (r0, c0), (r1, c1) in ranges or []:
        if r0 >= len(rows):
            continue
        top = rows[r0][c0] if c0 < len(rows[r0]) else ""
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            for c in range(c0, min(c1, len(rows[r]) - 1) + 1):
                if (r, c) != (r0, c0):
                    rows[r][c] = top


def read_workbook(data: bytes, file_name: str, limits: Limits = Limits()) -> Workbook:
    """Check the container, scan every worksheet, and read them all (cached values, merges filled)."""
    from python_calamine import CalamineWorkbook

    try:
        pkg = open_package(data, file_name, limits)
        scans = _scan_all(pkg, limits)
        reader_data = pkg.reader_bytes()
    except PackageError as exc:
        raise WorkbookError(str(exc), sheet=exc.sheet, cell=exc.cell) from None
    try:
        cwb = CalamineWorkbook.from_filelike(io.BytesIO(reader_data))
        metas = cwb.sheets_metadata
    except BaseException as exc:  # calamine raises its own error types (and panics) for broken parts
        if not _is_panic(exc):
            raise
        raise WorkbookError(f"文件已损坏，无法读取工作表。{ACCEPTED}") from None
    sheets = []
    for meta in metas:
        if "WorkSheet" not in str(meta.typ):
            continue
        scan = scans.get(meta.name)
        if scan is None:              # never read what the pre-checks did not see
            raise WorkbookError(f"文件已损坏：工作表“{meta.name}”与工作簿目录不一致。{ACCEPTED}", sheet=meta.name)
        try:
            cs = cwb.get_sheet_by_name(meta.name)
            end_row, end_col = cs.end if cs.end else (-1, -1)
            _check_extent(meta.name, end_row + 1, end_col + 1, limits)
            if (end_row + 1) * (end_col + 1) > max(scan.cells, 1):
                raise WorkbookError(f"文件已损坏：工作表的实际数据区域与其内容不一致。{ACCEPTED}", sheet=meta.name)
            rows = cs.to_python(skip_empty_area=False) if cs.end else []
            _fill_merged(rows, cs.merged_cell_ranges)
        except WorkbookError:
            raise
        except BaseException as exc:
            if not _is_panic(exc):
                raise
            raise WorkbookError(f"工作表无法读取（文件可能已损坏，或日期单元格中有无效的数值）：{ACCEPTED}",
                                sheet=meta.name) from None
        visible = str(meta.visible).endswith(".Visible")
        sheets.append(Sheet(meta.name, visible, rows, scan.uncached))
    return Workbook(sheets)


__all__ = ["ACCEPTED", "Limits", "Sheet", "Workbook", "WorkbookError", "address", "read_workbook"]
