"""The zip container of an uploaded workbook: what it is, and where its parts are.

`open_package` refuses what is not a sane .xlsx/.xlsm (empty, too large, zip bombs, other
formats — each named as what it is) and finds the workbook's parts the way spreadsheet readers
do: through the package relationships, whatever the case of the names, "/" or "\\" separators,
absolute or relative targets, Transitional or Strict namespaces, a workbook part at the root or
under another name. The result lists every sheet with its kind and part, so that the XML
pre-checks see exactly the parts the cell reader (python-calamine) will read.

python-calamine finds the workbook only as "<dir>/workbook.xml" and refuses a workbook that
has an Excel 4.0 macro sheet; for such valid packages `Package.reader_bytes()` builds a minimal
equivalent zip (worksheets, shared strings, styles) that it reads.
"""
from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from xml.sax.saxutils import quoteattr

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from pipelines.returns import file_formats
from pipelines.returns.file_formats import OLE_MAGIC

ACCEPTED = "只接受 Excel 工作簿 .xlsx 或 .xlsm 文件（请在 Excel 或 WPS 中“另存为 → Excel 工作簿 (*.xlsx)”后再上传）"
REPAIR = "请在 Excel 或 WPS 中打开（如提示修复请确认），另存为 .xlsx 后再上传"
# What reading a damaged zip member can raise.
ZIP_ERRORS = (KeyError, zipfile.BadZipFile, OSError, zlib.error, EOFError, RuntimeError, ValueError,
              NotImplementedError)
_PROLOG_DOCTYPE = re.compile(rb"^(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->)*<!DOCTYPE", re.S)
READER_SHEET_KINDS = ("worksheet", "chartsheet", "dialogsheet")   # what python-calamine knows
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


class PackageError(ValueError):
    """The file is not a readable workbook package. Chinese message; the sheet when known."""

    def __init__(self, message: str, sheet: str | None = None, cell: str | None = None):
        super().__init__(message)
        self.sheet = sheet
        self.cell = cell


def refuse(reason: str) -> PackageError:
    return PackageError(f"{reason}。{ACCEPTED}")


def corrupt(detail: str, sheet: str | None = None) -> PackageError:
    return PackageError(f"文件已损坏：{detail}：{REPAIR}", sheet=sheet)


MIB = 1024 * 1024
WORKER_MEMORY_BYTES = 1024 * MIB      # the address space a parse worker may use (parse_worker)
_READER_RESERVE = 256 * MIB           # interpreter, the upload and its copies, shared strings
_BYTES_PER_CELL = 48                  # calamine's grid cell (32 B) + the Python row slot (8 B), rounded up


def cells_for_memory(memory_bytes: int) -> int:
    """How many grid cells (rows × columns, all sheets together) a reader may hold in memory_bytes."""
    return max(1_000_000, (memory_bytes - _READER_RESERVE) // _BYTES_PER_CELL)


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 20 * 1024 * 1024
    max_unzipped_bytes: int = 200 * 1024 * 1024
    max_zip_entries: int = 5000
    max_sheets: int = 50
    max_rows: int = 100_000
    max_cols: int = 200
    max_cells: int = cells_for_memory(WORKER_MEMORY_BYTES)    # rows × columns over all sheets
    max_merged_ranges: int = 100_000


@dataclass
class SheetPart:
    name: str
    kind: str                         # worksheet | chartsheet | dialogsheet | macrosheet | other
    part: str | None                  # real zip entry name, None when the package lacks it
    state: str | None = None


@dataclass
class Package:
    zf: zipfile.ZipFile
    names: dict[str, str]             # normalised entry name -> real entry name
    workbook_part: str                # real entry name
    sheets: list[SheetPart] = field(default_factory=list)
    styles_part: str | None = None
    shared_strings_part: str | None = None
    date1904: bool = False
    data: bytes = b""
    needs_rebuild: bool = False       # python-calamine cannot read the package as it is

    def read(self, entry: str, what: str = "部件", sheet: str | None = None) -> bytes:
        try:
            return self.zf.read(entry)
        except ZIP_ERRORS:
            raise corrupt(f"无法解压{what}（可能下载或复制不完整）", sheet=sheet) from None

    def open(self, entry: str):
        return self.zf.open(entry)

    def refuse_doctype(self, entry: str, what: str) -> None:
        """Refuse a part whose prolog declares a DOCTYPE (entities), without reading it whole."""
        try:
            with self.zf.open(entry) as fh:
                head = fh.read(65536)
        except ZIP_ERRORS:
            raise corrupt(f"无法解压{what}（可能下载或复制不完整）") from None
        if _PROLOG_DOCTYPE.match(head):
            raise refuse(f"{what}中含有 XML 实体声明（DOCTYPE），Excel 不会写出这样的文件，系统拒绝读取")

    @property
    def worksheets(self) -> list[SheetPart]:
        return [s for s in self.sheets if s.kind == "worksheet"]

    def reader_bytes(self) -> bytes:
        """The bytes to hand to python-calamine: the upload itself, or a minimal rebuilt package."""
        return self._rebuild() if self.needs_rebuild else self.data

    def _rebuild(self) -> bytes:
        kept = [s for s in self.sheets if s.kind in READER_SHEET_KINDS and s.part]
        rels, entries = [], []
        parts: dict[str, bytes] = {}
        for i, s in enumerate(kept, start=1):
            target = f"xl/{s.kind}s/sheet{i}.xml"
            parts[target] = self.read(s.part, "工作表", s.name)
            rels.append(f'<Relationship Id="rId{i}" Type="{REL_NS}/{s.kind}" Target="/{target}"/>')
            state = f" state={quoteattr(s.state)}" if s.state else ""
            entries.append(f'<sheet name={quoteattr(s.name)} sheetId="{i}"{state} r:id="rId{i}"/>')
        for part, canonical in ((self.styles_part, "xl/styles.xml"),
                                (self.shared_strings_part, "xl/sharedStrings.xml")):
            if part:
                parts[canonical] = self.read(part)
        pr = '<workbookPr date1904="1"/>' if self.date1904 else ""
        parts["xl/workbook.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" '
                                    f'xmlns:r="{REL_NS}">{pr}<sheets>{"".join(entries)}</sheets></workbook>').encode()
        parts["xl/_rels/workbook.xml.rels"] = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships '
                                               f'xmlns="{PKG_REL_NS}">{"".join(rels)}</Relationships>').encode()
        parts["_rels/.rels"] = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">'
                                f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" '
                                'Target="xl/workbook.xml"/></Relationships>').encode()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as out:
            for name, content in parts.items():
                out.writestr(name, content)
        return buf.getvalue()


def normalise(name: str) -> str:
    return name.replace("\\", "/").lower()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _attr(element, local: str) -> str | None:
    """An attribute by local name, whatever its namespace (r:id in either OOXML flavour)."""
    for key, value in element.attrib.items():
        if _local(key) == local:
            return value
    return None


def _parse_xml(pkg: Package, entry: str, what: str):
    data = pkg.read(entry, what)
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise refuse(f"{what}中含有 XML 实体声明（DOCTYPE），Excel 不会写出这样的文件，系统拒绝读取") from None
    except SafeET.ParseError:
        raise corrupt(f"{what}不是有效的 XML") from None


def _relationships(pkg: Package, entry: str, what: str) -> list[tuple[str, str, str, str]]:
    """(Id, Type, Target, TargetMode) of each relationship in a .rels part."""
    root = _parse_xml(pkg, entry, what)
    return [(r.get("Id") or "", r.get("Type") or "", r.get("Target") or "", r.get("TargetMode") or "")
            for r in root.iter() if _local(r.tag) == "Relationship"]


def _resolve(base_dir: str, target: str) -> str:
    """A relationship target as a normalised entry name (absolute, or relative to base_dir)."""
    target = target.replace("\\", "/")
    path = target.lstrip("/") if target.startswith("/") else posixpath.join(base_dir, target)
    return normalise(posixpath.normpath(path)).lstrip("/") if path else ""


def _content_types(pkg: Package) -> dict[str, str]:
    entry = pkg.names.get("[content_types].xml")
    if entry is None:
        return {}
    try:
        root = _parse_xml(pkg, entry, "内容类型部件")
    except PackageError:
        return {}
    return {normalise((e.get("PartName") or "").lstrip("/")): e.get("ContentType") or ""
            for e in root.iter() if _local(e.tag) == "Override"}


def _check_size(data: bytes, file_name: str, limits: Limits) -> None:
    if not data:
        raise refuse("文件是空的（0 字节）")
    if len(data) > limits.max_file_bytes:
        raise refuse(f"文件大小 {len(data) / 1048576:.1f} MB 超过上限 "
                     f"{limits.max_file_bytes // 1048576} MB：请删除无关工作表或拆分后上传")


def _open_zip(data: bytes, limits: Limits) -> tuple[zipfile.ZipFile, dict[str, str]]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise refuse("文件已损坏，无法解压（可能下载或复制不完整）") from None
    if len(infos) > limits.max_zip_entries:
        raise refuse(f"压缩包内含 {len(infos)} 个部件，超过上限（疑似压缩炸弹）")
    total = sum(i.file_size for i in infos)
    if total > limits.max_unzipped_bytes:
        raise refuse(f"文件解压后达 {total / 1048576:.0f} MB，超过上限 "
                     f"{limits.max_unzipped_bytes // 1048576} MB（疑似压缩炸弹）")
    names: dict[str, str] = {}
    for info in infos:
        names.setdefault(normalise(info.filename), info.filename)
    return zf, names


def open_package(data: bytes, file_name: str, limits: Limits = Limits()) -> Package:
    """Check the container and locate every part a reader needs. Raises PackageError."""
    _check_size(data, file_name, limits)
    if data.startswith(OLE_MAGIC):
        raise refuse(file_formats.describe_ole(data))
    if not data.startswith(b"PK"):
        raise refuse(file_formats.describe_other(data))
    zf, names = _open_zip(data, limits)
    other = file_formats.describe_zip(zf, names)
    if other:
        raise refuse(other)
    suffix = PurePosixPath(file_name.replace("\\", "/")).suffix.lower()
    pkg = Package(zf, names, "", data=data)
    rels_entry = names.get("_rels/.rels")
    if rels_entry is None:
        if any(n.endswith("workbook.xml") for n in names):
            raise corrupt("缺少包关系部件 _rels/.rels（文件不完整）")
        if "[content_types].xml" in names:
            raise refuse("压缩包中没有 Excel 工作簿内容（可能是 Word 文档或其他文件改了扩展名）")
        raise refuse("这是普通 ZIP 压缩包，不是 Excel 工作簿：请解压后上传其中的 .xlsx 文件")
    office = [t for _, typ, t, mode in _relationships(pkg, rels_entry, "包关系部件")
              if typ.endswith("/relationships/officeDocument") and mode.lower() != "external"]
    if not office:
        raise refuse("压缩包中没有 Excel 工作簿内容（可能是 Word 文档或其他文件改了扩展名）")
    target = _resolve("", office[0])
    other = file_formats.describe_office_document(target, _content_types(pkg).get(target))
    if other:
        raise refuse(other)
    if suffix not in (".xlsx", ".xlsm"):
        raise refuse(f"文件扩展名 {suffix or '（无）'} 不被接受")
    if target not in names:
        raise corrupt(f"压缩包中找不到工作簿部件 {office[0]}")
    pkg.workbook_part = names[target]
    _locate_parts(pkg, target, _reader_dir(office[0]))
    if len(pkg.sheets) > limits.max_sheets:
        raise refuse(f"工作簿有 {len(pkg.sheets)} 个工作表，超过上限 {limits.max_sheets} 个")
    return pkg


def _reader_dir(raw_target: str) -> str:
    """The folder python-calamine takes the workbook's parts from (its own rule, kept verbatim)."""
    i = raw_target.rfind("/")
    folder = raw_target[:i + 1] if i >= 0 else ""
    return folder[1:] if folder.startswith("/") else folder


def _reader_path(reader_dir: str, raw_target: str) -> str:
    """Where python-calamine looks for a part: an absolute target, or <dir> + target, any case."""
    return (raw_target[1:] if raw_target.startswith("/") else reader_dir + raw_target).lower()


def _locate_parts(pkg: Package, workbook: str, reader_dir: str) -> None:
    """Sheets (in workbook order), styles and shared strings, through the workbook's relationships.

    Marks the package for rebuilding when python-calamine's fixed names would miss a part.
    """
    wb_dir, wb_name = posixpath.split(workbook)
    rels_name = normalise(posixpath.join(wb_dir, "_rels", wb_name + ".rels"))
    if rels_name not in pkg.names:
        raise corrupt(f"缺少工作簿关系部件 {rels_name}")
    rels = {rid: (typ, raw, _resolve(wb_dir, raw)) for rid, typ, raw, mode in
            _relationships(pkg, pkg.names[rels_name], "工作簿关系部件") if mode.lower() != "external"}
    root = _parse_xml(pkg, pkg.workbook_part, "工作簿部件")
    rebuild = (reader_dir + "workbook.xml").lower() != workbook or \
        (reader_dir + "_rels/workbook.xml.rels").lower() != rels_name
    for el in root.iter():
        tag = _local(el.tag)
        if tag == "workbookPr":
            pkg.date1904 = (el.get("date1904") or "").lower() in ("1", "true")
        if tag != "sheet":
            continue
        name, rid = el.get("name") or "", _attr(el, "id")
        if rid not in rels:
            raise corrupt(f"工作表“{name}”在工作簿关系部件中没有对应项", sheet=name)
        typ, raw, path = rels[rid]
        kind = typ.rsplit("/", 1)[-1]
        if "macrosheet" in kind.lower():
            kind = "macrosheet"
        elif kind not in READER_SHEET_KINDS:
            kind = "other"
        part = pkg.names.get(path)
        if kind == "worksheet" and part is None:
            raise corrupt(f"工作表“{name}”的内容部件 {path} 不在压缩包中", sheet=name)
        pkg.sheets.append(SheetPart(name, kind, part, el.get("state")))
        if kind not in READER_SHEET_KINDS:
            rebuild = True                                # the reader refuses the whole workbook
        elif part and _reader_path(reader_dir, raw) != path:
            rebuild = True
    for typ, raw, path in rels.values():
        for suffix, attr in (("/styles", "styles_part"), ("/sharedStrings", "shared_strings_part")):
            if typ.endswith(suffix) and path in pkg.names and getattr(pkg, attr) is None:
                setattr(pkg, attr, pkg.names[path])
                rebuild |= _reader_path(reader_dir, suffix[1:] + ".xml") != path
    for attr, canonical in (("styles_part", "styles.xml"), ("shared_strings_part", "sharedStrings.xml")):
        if getattr(pkg, attr) is None and _reader_path(reader_dir, canonical) in pkg.names:
            setattr(pkg, attr, pkg.names[_reader_path(reader_dir, canonical)])
    pkg.needs_rebuild = rebuild
