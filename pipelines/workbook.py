"""Open an uploaded return safely: check the container, then read every sheet's cached values.

Only `.xlsx` and `.xlsm` (macros ignored) are read. Everything else — empty files, CSV renamed
to .xlsx, old .xls, encrypted workbooks, corrupt zips, zip bombs, oversized files — is refused
with one Chinese message naming the accepted formats. Cells are read with python-calamine
(cached values of formulas); formulas saved without a cached value are found in the sheet XML
so that the extractor can name them.
"""
from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from xml.etree import ElementTree as ET

from .cells import address

ACCEPTED = "只接受 Excel 工作簿 .xlsx 或 .xlsm 文件（请在 Excel 或 WPS 中“另存为 → Excel 工作簿 (*.xlsx)”后再上传）"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL = re.compile(rb'<c\b[^>]*?\br="([A-Z]+[0-9]+)"[^>]*?(?:/>|>(.*?)</c>)', re.S)
_HAS_VALUE = re.compile(rb"<v>[^<]+</v>|<is>")
# What reading a damaged zip member can raise.
ZIP_ERRORS = (KeyError, zipfile.BadZipFile, OSError, zlib.error, EOFError, RuntimeError, ValueError)


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 20 * 1024 * 1024
    max_unzipped_bytes: int = 200 * 1024 * 1024
    max_zip_entries: int = 5000
    max_sheets: int = 50
    max_rows: int = 100_000
    max_cols: int = 200


class WorkbookError(ValueError):
    """The file cannot be read as a return. Chinese message; sheet/cell when they apply."""

    def __init__(self, message: str, sheet: str | None = None, cell: str | None = None):
        super().__init__(message)
        self.sheet = sheet
        self.cell = cell


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


def _refuse(reason: str) -> WorkbookError:
    return WorkbookError(f"{reason}。{ACCEPTED}")


def check_container(data: bytes, file_name: str, limits: Limits = Limits()) -> zipfile.ZipFile:
    """Refuse anything that is not a sane .xlsx/.xlsm zip. Returns the opened zip."""
    suffix = PurePosixPath(file_name.replace("\\", "/")).suffix.lower()
    if not data:
        raise _refuse("文件是空的（0 字节）")
    if len(data) > limits.max_file_bytes:
        raise _refuse(f"文件大小 {len(data) / 1048576:.1f} MB 超过上限 "
                      f"{limits.max_file_bytes // 1048576} MB：请删除无关工作表或拆分后上传")
    if data.startswith(OLE_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in data or b"EncryptedPackage" in data \
                or "EncryptedPackage".encode("utf-16-le") in data:
            raise _refuse("工作簿设置了打开密码（已加密），系统无法读取：请在 Excel 中取消密码后另存")
        raise _refuse("这是旧版 Excel 97-2003 (.xls) 文件")
    if not data.startswith(b"PK"):
        head = data[:2048]
        textish = all(b >= 9 for b in head) and (b"," in head or b"\t" in head or b"\n" in head)
        if textish:
            raise _refuse("这是文本/CSV 文件（只是扩展名是 " + (suffix or "无") + "），不是 Excel 工作簿")
        raise _refuse("文件内容不是 Excel 工作簿")
    if suffix not in (".xlsx", ".xlsm"):
        raise _refuse(f"文件扩展名 {suffix or '（无）'} 不被接受")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _refuse("文件已损坏，无法解压（可能下载或复制不完整）") from None
    if len(infos) > limits.max_zip_entries:
        raise _refuse(f"压缩包内含 {len(infos)} 个部件，超过上限（疑似压缩炸弹）")
    total = sum(i.file_size for i in infos)
    if total > limits.max_unzipped_bytes:
        raise _refuse(f"文件解压后达 {total / 1048576:.0f} MB，超过上限 "
                      f"{limits.max_unzipped_bytes // 1048576} MB（疑似压缩炸弹）")
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise _refuse("压缩包中没有 Excel 工作簿内容（可能是 Word 文档或其他文件改了扩展名）")
    return zf


def _sheet_paths(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> XML part path inside the zip."""
    try:
        wb = ET.fromstring(zf.read("xl/workbook.xml"))
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (ET.ParseError, *ZIP_ERRORS):
        return {}
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{NS_PKG_REL}Relationship")}
    out = {}
    for s in wb.iter(f"{NS_MAIN}sheet"):
        target = targets.get(s.get(f"{NS_REL}id"))
        if target:
            out[s.get("name")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return out


def _sheet_xml(zf: zipfile.ZipFile, part: str | None) -> bytes:
    if not part:
        return b""
    try:
        return zf.read(part)
    except KeyError:
        return b""
    except ZIP_ERRORS:
        raise _refuse("文件已损坏，无法解压工作表（可能下载或复制不完整）") from None


def _uncached_formulas(xml: bytes) -> set[str]:
    if b"<f" not in xml:
        return set()
    return {m.group(1).decode() for m in _CELL.finditer(xml)
            if m.group(2) and b"<f" in m.group(2) and not _HAS_VALUE.search(m.group(2))}


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _extent(xml: bytes) -> tuple[int, int]:
    """(rows, columns) spanned by cells that hold a value, read from the sheet XML itself.

    calamine sizes its grid from the farthest cell, so a single value at XFD1048576 would make
    it allocate billions of cells and abort the process; this is checked before calamine runs.
    """
    rows = cols = 0
    for m in _CELL.finditer(xml):
        if m.group(2) and _HAS_VALUE.search(m.group(2)):
            ref = m.group(1)
            split = len(ref) - len(ref.lstrip(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
            cols = max(cols, _col_number(ref[:split]))
            rows = max(rows, int(ref[split:]))
    return rows, cols


_BUILTIN_DATE_FORMATS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))
_NUMFMT = re.compile(rb'<numFmt\b[^>]*?numFmtId="(\d+)"[^>]*?formatCode="([^"]*)"')
_XF = re.compile(rb"<xf\b([^>]*)")
_XF_FMT = re.compile(rb'numFmtId="(\d+)"')
_NUMERIC_CELL = re.compile(rb'<c\b([^>]*?)\br="([A-Z]+[0-9]+)"([^>]*?)>(?:<f\b[^>]*?(?:/>|>[^<]*</f>))?<v>([^<]+)</v>')
_STYLE = re.compile(rb'\bs="(\d+)"')
_TYPE = re.compile(rb'\bt="(\w+)"')
# calamine converts date-formatted numbers with chrono and panics beyond about 1e11 days.
_DATE_SERIAL_LIMIT = 1e10


def _is_date_code(code: bytes) -> bool:
    text = re.sub(rb'"[^"]*"|\[[^\]]*\]|\\.', b"", code).lower()
    return any(ch in text for ch in (b"y", b"d", b"h", b"s")) or (b"m" in text and b"0" not in text)


def _date_styles(zf: zipfile.ZipFile) -> set[int]:
    """Indexes of cellXfs that format a number as a date or time."""
    try:
        xml = zf.read("xl/styles.xml")
    except KeyError:
        return set()
    except ZIP_ERRORS:
        raise _refuse("文件已损坏，无法解压样式部件（可能下载或复制不完整）") from None
    custom = {int(i) for i, code in _NUMFMT.findall(xml) if _is_date_code(code)}
    start = xml.find(b"<cellXfs")
    end = xml.find(b"</cellXfs>", start)
    if start < 0 or end < 0:
        return set()
    out = set()
    for i, m in enumerate(_XF.finditer(xml, start, end)):
        fmt = _XF_FMT.search(m.group(1))
        if fmt and int(fmt.group(1)) in (_BUILTIN_DATE_FORMATS | custom):
            out.add(i)
    return out


def _check_date_cells(xml: bytes, name: str, date_styles: set[int]) -> None:
    """Refuse, naming the cell, a date-formatted number no calendar can hold (it would crash calamine)."""
    if not date_styles:
        return
    for m in _NUMERIC_CELL.finditer(xml):
        attrs = m.group(1) + m.group(3)
        style, kind = _STYLE.search(attrs), _TYPE.search(attrs)
        if not style or int(style.group(1)) not in date_styles or (kind and kind.group(1) != b"n"):
            continue
        try:
            serial = float(m.group(4))
        except ValueError:
            continue
        if not abs(serial) < _DATE_SERIAL_LIMIT:
            raise WorkbookError(f"单元格 {m.group(2).decode()} 设置为日期格式，但其中的数值 {m.group(4).decode()} "
                                "不是有效日期：请填写正确的日期，或把该单元格改为“常规”格式后重新上传",
                                sheet=name, cell=m.group(2).decode())


def _check_extent(name: str, rows: int, cols: int, limits: Limits) -> None:
    if rows > limits.max_rows:
        raise WorkbookError(f"工作表有 {rows} 行，超过上限 {limits.max_rows} 行：请拆分后上传", sheet=name)
    if cols > limits.max_cols:
        raise WorkbookError(f"工作表有 {cols} 列，超过上限 {limits.max_cols} 列：请删除多余的列", sheet=name)


def _is_panic(exc: BaseException) -> bool:
    """calamine's Rust panics surface as PanicException, a BaseException subclass."""
    return not isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit))


def read_workbook(data: bytes, file_name: str, limits: Limits = Limits()) -> Workbook:
    """Check the container and read all sheets (cached values, merged cells filled)."""
    from python_calamine import CalamineWorkbook

    zf = check_container(data, file_name, limits)
    try:
        cwb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        metas = cwb.sheets_metadata
    except BaseException as exc:  # calamine raises its own error types (and panics) for broken parts
        if not _is_panic(exc):
            raise
        raise _refuse("文件已损坏，无法读取工作表") from None
    if len(metas) > limits.max_sheets:
        raise _refuse(f"工作簿有 {len(metas)} 个工作表，超过上限 {limits.max_sheets} 个")
    paths = _sheet_paths(zf)
    date_styles = _date_styles(zf)
    sheets = []
    for meta in metas:
        if "WorkSheet" not in str(meta.typ):
            continue
        xml = _sheet_xml(zf, paths.get(meta.name))
        _check_extent(meta.name, *_extent(xml), limits)
        _check_date_cells(xml, meta.name, date_styles)
        try:
            cs = cwb.get_sheet_by_name(meta.name)
            end_row, end_col = cs.end if cs.end else (-1, -1)
            _check_extent(meta.name, end_row + 1, end_col + 1, limits)
            rows = cs.to_python(skip_empty_area=False) if cs.end else []
        except WorkbookError:
            raise
        except BaseException as exc:
            if not _is_panic(exc):
                raise
            raise WorkbookError(f"工作表无法读取（文件可能已损坏，或日期单元格中有无效的数值）：{ACCEPTED}",
                                sheet=meta.name) from None
        for (r0, c0), (r1, c1) in cs.merged_cell_ranges or []:
            if r0 >= len(rows):
                continue
            top = rows[r0][c0] if c0 < len(rows[r0]) else ""
            for r in range(r0, min(r1, len(rows) - 1) + 1):
                for c in range(c0, min(c1, len(rows[r]) - 1) + 1):
                    if (r, c) != (r0, c0):
                        rows[r][c] = top
        visible = str(meta.visible).endswith(".Visible")
        sheets.append(Sheet(meta.name, visible, rows, _uncached_formulas(xml)))
    return Workbook(sheets)


__all__ = ["ACCEPTED", "Limits", "Sheet", "Workbook", "WorkbookError", "address",
           "check_container", "read_workbook"]
