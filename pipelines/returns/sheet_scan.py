"""Read a worksheet's XML once, streaming, before any cell reader allocates a grid for it.

python-calamine sizes a sheet's grid from its farthest cell with a value, so a single value at
XFD1048576 makes it allocate billions of cells and abort the whole process. The scan computes
that extent the way calamine positions cells — `<c r="B7">`, or, where `r=` is missing, the
column after the previous cell and the row after the previous `<row>` — whatever the namespace
(Transitional or Strict) or prefix (`<x:c>`) of the elements. On the way it finds formulas saved
without a cached value (so the extractor can name them), date-formatted numbers no calendar can
hold (calamine panics on them) and the merged ranges (their filling costs time too). A DOCTYPE
is refused: Excel never writes one, and entity expansion is how XML bombs work.
"""
from __future__ import annotations

import pyexpat
import re
from dataclasses import dataclass, field

from pipelines.returns.cells import address

DATE_SERIAL_LIMIT = 1e10          # calamine converts with chrono and panics beyond ~1e11 days
_BUILTIN_DATE_FORMATS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))
_NUMFMT = re.compile(rb'<(?:[\w.-]+:)?numFmt\b[^>]*?numFmtId="(\d+)"[^>]*?formatCode="([^"]*)"')
_XF = re.compile(rb"<(?:[\w.-]+:)?xf\b([^>]*)")
_XF_FMT = re.compile(rb'numFmtId="(\d+)"')
_CELL_XFS = re.compile(rb"<(?:[\w.-]+:)?cellXfs\b")
_CELL_XFS_END = re.compile(rb"</(?:[\w.-]+:)?cellXfs\s*>")
_REF = re.compile(r"([A-Za-z]*)([0-9]+)")
_VALUE_WHEN_EMPTY = {"str", "d", "b", "e"}     # a <v> of these types is a value even when empty


class ScanError(ValueError):
    """The sheet cannot be read safely. Chinese message, with the sheet and cell when known."""

    def __init__(self, message: str, sheet: str | None = None, cell: str | None = None):
        super().__init__(message)
        self.sheet = sheet
        self.cell = cell


class _Doctype(Exception):
    pass


@dataclass
class SheetScan:
    rows: int = 0                     # 1-based extent of the cells holding a value (from A1)
    cols: int = 0
    uncached: set[str] = field(default_factory=set)
    merged_cells: int = 0             # cells that merged ranges cover inside the extent

    @property
    def cells(self) -> int:
        return self.rows * self.cols


def is_date_code(code: bytes) -> bool:
    text = re.sub(rb'"[^"]*"|\[[^\]]*\]|\\.', b"", code).lower()
    return any(ch in text for ch in (b"y", b"d", b"h", b"s")) or (b"m" in text and b"0" not in text)


def date_styles(styles_xml: bytes) -> set[int]:
    """Indexes of the cellXfs that format a number as a date or time."""
    custom = {int(i) for i, code in _NUMFMT.findall(styles_xml) if is_date_code(code)}
    start = _CELL_XFS.search(styles_xml)
    end = _CELL_XFS_END.search(styles_xml, start.end()) if start else None
    if not start or not end:
        return set()
    out = set()
    for i, m in enumerate(_XF.finditer(styles_xml, start.end(), end.start())):
        fmt = _XF_FMT.search(m.group(1))
        if fmt and int(fmt.group(1)) in (_BUILTIN_DATE_FORMATS | custom):
            out.add(i)
    return out


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


class _Scanner:
    """expat handlers following calamine's cell positions (see module docstring)."""

    def __init__(self, sheet: str, dates: set[int], max_merges: int):
        self.sheet, self.dates, self.max_merges = sheet, dates, max_merges
        self.row = 0                  # 0-based row of a cell without r=
        self.col = 0                  # 0-based column of the next cell without r=
        self.max_row = self.max_col = 0
        self.in_data = self.data_done = False
        self.cell = None              # (row, col, type, style) of the open <c>
        self.depth = 0                # element depth inside the open <c>
        self.child = None             # local name of the open direct child of <c>
        self.has_value = self.has_formula = self.saw_v = False
        self.text: list[str] = []
        self.uncached: set[str] = set()
        self.merges: list[tuple[int, int, int, int]] = []
        self._local: dict[str, str] = {}

    def local(self, name: str) -> str:
        got = self._local.get(name)
        if got is None:
            got = self._local[name] = name.rpartition(":")[2]
        return got

    def bad(self, message: str, cell: str | None = None) -> ScanError:
        return ScanError(message, sheet=self.sheet, cell=cell)

    def ref(self, text: str, what: str) -> tuple[int, int]:
        m = _REF.fullmatch(text)
        if not m or int(m.group(2)) < 1 or (what == "单元格" and not m.group(1)):
            raise self.bad(f"文件已损坏：{what}引用“{text[:20]}”无效：请在 Excel 或 WPS 中打开并另存为 .xlsx 后再上传")
        return int(m.group(2)) - 1, _col_number(m.group(1)) - 1

    def start(self, name: str, attrs: dict) -> None:
        local = self.local(name)
        if self.cell is not None:
            self.depth += 1
            if self.depth == 1:
                self.child = local
                if local == "is":
                    self.has_value = True
                elif local == "v":
                    self.saw_v = True
                    self.text = []
                elif local == "f":
                    self.has_formula = True
            return
        if not self.in_data:
            if local == "sheetData" and not self.data_done:
                self.in_data = True
            elif local == "mergeCell":
                self.merge(attrs.get("ref") or "")
            return
        if local == "c":
            r = attrs.get("r")
            if r is not None:
                row, col = self.ref(r, "单元格")
                self.col = col
            else:
                row, col = self.row, self.col
            self.cell = (row, col, attrs.get("t"), attrs.get("s"))
            self.depth = 0
            self.has_value = self.has_formula = self.saw_v = False
            self.text = []
        elif local == "row":
            r = attrs.get("r")
            if r is not None:
                self.row = self.ref(r, "行")[0]

    def end(self, name: str) -> None:
        if self.cell is not None:
            if self.depth == 0:
                self.close_cell()
            else:
                if self.depth == 1:
                    self.child = None
                self.depth -= 1
            return
        if self.in_data:
            local = self.local(name)
            if local == "row":
                self.row += 1
                self.col = 0
            elif local == "sheetData":
                self.in_data, self.data_done = False, True

    def chars(self, data: str) -> None:
        if self.child == "v" and self.depth == 1:
            self.text.append(data)

    def close_cell(self) -> None:
        row, col, typ, style = self.cell
        self.cell = None
        self.col = col + 1
        value = self.has_value
        text = "".join(self.text) if self.saw_v else ""
        if self.saw_v and typ not in ("inlineStr", "is"):
            value = value or bool(text) or typ in _VALUE_WHEN_EMPTY
        if value:
            self.max_row = max(self.max_row, row + 1)
            self.max_col = max(self.max_col, col + 1)
            if style is not None and typ in (None, "n") and text and self.dates \
                    and style.isdigit() and int(style) in self.dates:
                self.check_date(row, col, text)
        elif self.has_formula:
            self.uncached.add(address(row, col))

    def check_date(self, row: int, col: int, text: str) -> None:
        try:
            serial = float(text)
        except ValueError:
            return
        if not abs(serial) < DATE_SERIAL_LIMIT:
            cell = address(row, col)
            raise self.bad(f"单元格 {cell} 设置为日期格式，但其中的数值 {text.strip()[:30]} 不是有效日期："
                           "请填写正确的日期，或把该单元格改为“常规”格式后重新上传", cell=cell)

    def merge(self, ref: str) -> None:
        if len(self.merges) >= self.max_merges:
            raise self.bad(f"工作表中的合并单元格区域超过 {self.max_merges} 个：请取消多余的合并后重新上传")
        first, _, last = ref.partition(":")
        try:
            r0, c0 = self.ref(first, "合并区域")
            r1, c1 = self.ref(last or first, "合并区域")
        except ScanError:
            return                    # calamine skips a range it cannot read the same way
        self.merges.append((min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)))

    def refuse_doctype(self, *args) -> None:
        raise _Doctype()


def scan_sheet(stream, sheet: str, dates: set[int], max_merges: int = 100_000) -> SheetScan:
    """Scan a worksheet part (a binary file object or bytes). Raises ScanError."""
    scanner = _Scanner(sheet, dates, max_merges)
    parser = pyexpat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = scanner.start
    parser.EndElementHandler = scanner.end
    parser.CharacterDataHandler = scanner.chars
    parser.StartDoctypeDeclHandler = scanner.refuse_doctype
    parser.EntityDeclHandler = scanner.refuse_doctype
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        if isinstance(stream, bytes | bytearray):
            parser.Parse(stream, True)
        else:
            parser.ParseFile(stream)
    except _Doctype:
        raise ScanError("工作表中含有 XML 实体声明（DOCTYPE），Excel 不会写出这样的文件，系统拒绝读取："
                        "请在 Excel 中另存为新的 .xlsx 后再上传", sheet=sheet) from None
    except pyexpat.ExpatError as exc:
        raise ScanError(f"文件已损坏：工作表的 XML 内容有误（部件第 {exc.lineno} 行第 {exc.offset + 1} 列附近）："
                        "请在 Excel 或 WPS 中打开并另存为 .xlsx 后再上传", sheet=sheet) from None
    out = SheetScan(scanner.max_row, scanner.max_col, scanner.uncached)
    for r0, c0, r1, c1 in scanner.merges:
        if r0 < out.rows and c0 < out.cols:
            out.merged_cells += (min(r1, out.rows - 1) - r0 + 1) * (min(c1, out.cols - 1) - c0 + 1)
    return out
