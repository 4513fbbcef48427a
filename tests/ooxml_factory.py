"""Workbooks written byte by byte (zip + XML), for the files other tools write and hostile ones:
Strict or Transitional namespaces, prefixed element names, cells with or without `r=`, any
workbook part path (case, separators, root level), macro / dialog / chart sheets, and the
non-OOXML formats officials upload by mistake (SpreadsheetML 2003, .fods, .ods, .xlsb,
.numbers, CSV). Nothing here is produced by openpyxl: these are the shapes it would never write.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

TRANSITIONAL = {
    "main": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "rel": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
}
STRICT = {
    "main": "http://purl.oclc.org/ooxml/spreadsheetml/main",
    "rel": "http://purl.oclc.org/ooxml/officeDocument/relationships",
}
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
HEADER = ["地区", "统计期", "指标", "分子", "分母"]
ROOT_ELEMENT = {"worksheet": "worksheet", "macrosheet": "macrosheet", "dialogsheet": "dialogsheet",
                "chartsheet": "chartsheet"}
FOLDER = {"worksheet": "worksheets", "macrosheet": "macrosheets", "dialogsheet": "dialogsheets",
          "chartsheet": "chartsheets"}
CONTENT_TYPE = {
    "worksheet": "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
    "macrosheet": "application/vnd.ms-excel.macrosheet+xml",
    "dialogsheet": "application/vnd.openxmlformats-officedocument.spreadsheetml.dialogsheet+xml",
    "chartsheet": "application/vnd.openxmlformats-officedocument.spreadsheetml.chartsheet+xml",
}


def col_letters(col: int) -> str:
    """1-based column number -> letters (1 -> A, 200 -> GR)."""
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def cell_xml(ref: str | None, value, prefix: str = "") -> str:
    r = f' r="{ref}"' if ref else ""
    if value is None:
        return f"<{prefix}c{r}/>"
    if isinstance(value, int | float):
        return f"<{prefix}c{r}><{prefix}v>{value}</{prefix}v></{prefix}c>"
    return (f'<{prefix}c{r} t="inlineStr"><{prefix}is><{prefix}t>{escape(str(value))}</{prefix}t>'
            f"</{prefix}is></{prefix}c>")


def rows_xml(rows: list[list], *, with_refs: bool = True, prefix: str = "", start: int = 1) -> str:
    """<row> elements from `start`; cells carry `r=` unless with_refs is False."""
    out = []
    for i, row in enumerate(rows, start=start):
        cells = "".join(cell_xml(f"{col_letters(j)}{i}" if with_refs else None, v, prefix)
                        for j, v in enumerate(row, start=1) if v is not None or not with_refs)
        r = f' r="{i}"' if with_refs else ""
        out.append(f"<{prefix}row{r}>{cells}</{prefix}row>")
    return "".join(out)


@dataclass
class SheetSpec:
    name: str
    body: str = ""                    # the content of <sheetData>
    kind: str = "worksheet"           # worksheet | macrosheet | dialogsheet | chartsheet
    state: str | None = None          # hidden | veryHidden


@dataclass
class Package:
    """The layout choices of one workbook package."""
    strict: bool = False
    workbook_part: str = "xl/workbook.xml"
    separator: str = "/"              # "\\" writes zip names as Windows tools sometimes do
    prefix: str = ""                  # "x:" writes every SpreadsheetML element prefixed
    absolute_targets: bool = False
    extra: dict[str, bytes] = field(default_factory=dict)


def _rels(items: list[tuple[str, str, str]]) -> bytes:
    body = "".join(f'<Relationship Id="{i}" Type="{t}" Target="{target}"/>' for i, t, target in items)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG_REL}">'
            f"{body}</Relationships>").encode()


def xlsx(sheets: list[SheetSpec], package: Package | None = None) -> bytes:
    """A complete .xlsx package holding `sheets`, laid out as `package` says."""
    pkg = package or Package()
    ns = STRICT if pkg.strict else TRANSITIONAL
    p = pkg.prefix
    xmlns = f' xmlns:{p[:-1]}="{ns["main"]}"' if p else f' xmlns="{ns["main"]}"'
    wb_dir, _, wb_name = pkg.workbook_part.rpartition("/")
    base = wb_dir + "/" if wb_dir else ""
    parts: dict[str, bytes] = {}
    overrides = [(f"/{pkg.workbook_part}", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")]
    rel_items, sheet_entries = [], []
    counters: dict[str, int] = {}
    for i, s in enumerate(sheets, start=1):
        counters[s.kind] = counters.get(s.kind, 0) + 1
        target = f"{FOLDER[s.kind]}/sheet{counters[s.kind]}.xml"
        root = ROOT_ELEMENT[s.kind]
        if s.kind == "chartsheet":
            xml = f'<?xml version="1.0" encoding="UTF-8"?><{p}{root}{xmlns}><{p}sheetViews/></{p}{root}>'
        else:
            xml = (f'<?xml version="1.0" encoding="UTF-8"?><{p}{root}{xmlns}><{p}sheetData>{s.body}'
                   f"</{p}sheetData></{p}{root}>")
        parts[base + target] = xml.encode()
        overrides.append((f"/{base}{target}", CONTENT_TYPE[s.kind]))
        rel_type = f'{ns["rel"]}/{s.kind}' if s.kind != "macrosheet" else \
            "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet"
        rel_items.append((f"rId{i}", rel_type, f"/{base}{target}" if pkg.absolute_targets else target))
        state = f' state="{s.state}"' if s.state else ""
        sheet_entries.append(f'<{p}sheet name="{escape(s.name)}" sheetId="{i}"{state} r:id="rId{i}"/>')
    parts[pkg.workbook_part] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><{p}workbook{xmlns} xmlns:r="{ns["rel"]}">'
        f'<{p}sheets>{"".join(sheet_entries)}</{p}sheets></{p}workbook>').encode()
    parts[f"{base}_rels/{wb_name}.rels"] = _rels(rel_items)
    target = "/" + pkg.workbook_part if pkg.absolute_targets else pkg.workbook_part
    parts["_rels/.rels"] = _rels([("rId1", f'{ns["rel"]}/officeDocument', target)])
    ct = "".join(f'<Override PartName="{n}" ContentType="{t}"/>' for n, t in overrides)
    parts["[Content_Types].xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="{CT}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{ct}</Types>').encode()
    parts.update(pkg.extra)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in parts.items():
            zf.writestr(name.replace("/", pkg.separator) if name != "[Content_Types].xml" else name, data)
    return buf.getvalue()


def long_table_body(rows: list[list], **kw) -> str:
    """A long table (header + rows) as sheetData content."""
    return rows_xml([HEADER, *rows], **kw)


# ------------------------------------------------------------------ hostile shapes of the issue

def far_cell(strict: bool = True, ref: str = "XFD1048576") -> bytes:
    """A header and one value at the far corner of the grid (6.8 KB in the report)."""
    row = int("".join(ch for ch in ref if ch.isdigit()))
    body = rows_xml([HEADER]) + f'<row r="{row}"><c r="{ref}"><v>1</v></c></row>'
    return xlsx([SheetSpec("Sheet1", body)], Package(strict=strict))


def cells_without_refs(n_cells: int = 16_384, row: int | None = 1_048_576) -> bytes:
    """A header and a last row (at `row`, or the next one when None) of `n_cells` <c>
    elements, none with `r=`."""
    r = f' r="{row}"' if row else ""
    body = rows_xml([HEADER]) + f"<row{r}>" + "<c><v>1</v></c>" * n_cells + "</row>"
    return xlsx([SheetSpec("Sheet1", body)])


def many_far_sheets(n_sheets: int = 8, ref: str = "GR100000") -> bytes:
    """n sheets, each with a header and one value at `ref` (every per-sheet limit respected)."""
    row = int("".join(ch for ch in ref if ch.isdigit()))
    body = rows_xml([HEADER]) + f'<row r="{row}"><c r="{ref}"><v>1</v></c></row>'
    return xlsx([SheetSpec(f"表{i + 1}", body) for i in range(n_sheets)])


# ------------------------------------------------------------------ other formats

SPREADSHEETML_2003 = """<?xml version="1.0"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"
 xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
 <Worksheet ss:Name="数据"><Table>
  <Row><Cell><Data ss:Type="String">地区</Data></Cell><Cell><Data ss:Type="String">统计期</Data></Cell></Row>
  <Row><Cell><Data ss:Type="String">蕉城区</Data></Cell><Cell><Data ss:Type="String">2024-01</Data></Cell></Row>
 </Table></Worksheet>
</Workbook>
""".encode()

FODS = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
 <office:body><office:spreadsheet><table:table table:name="数据"><table:table-row>
  <table:table-cell office:value-type="string"><text:p>地区</text:p></table:table-cell>
 </table:table-row></table:table></office:spreadsheet></office:body>
</office:document>
""".encode()


def _zip(parts: dict[str, bytes], stored_first: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if stored_first:
            zf.writestr(zipfile.ZipInfo(stored_first), parts.pop(stored_first), compress_type=zipfile.ZIP_STORED)
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


def ods() -> bytes:
    """An OpenDocument spreadsheet as LibreOffice writes it (mimetype first, stored)."""
    return _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                 "content.xml": FODS, "META-INF/manifest.xml": b'<?xml version="1.0"?><manifest:manifest '
                 b'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>'},
                stored_first="mimetype")


def xlsb() -> bytes:
    """An Excel binary workbook: an OPC package whose workbook part is workbook.bin."""
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    return _zip({
        "[Content_Types].xml": (f'<?xml version="1.0"?><Types xmlns="{CT}"><Override PartName="/xl/workbook.bin" '
                                'ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/></Types>').encode(),
        "_rels/.rels": _rels([("rId1", f"{rel}/officeDocument", "xl/workbook.bin")]),
        "xl/workbook.bin": b"\x83\x01\x00\x80\x01\x00",
        "xl/_rels/workbook.bin.rels": _rels([("rId1", f"{rel}/worksheet", "worksheets/sheet1.bin")]),
        "xl/worksheets/sheet1.bin": b"\x81\x01\x00",
    })


def numbers() -> bytes:
    """An Apple Numbers document (zip with Index/*.iwa and a Metadata folder)."""
    return _zip({"Index/Document.iwa": b"\x00\x1f\x00\x00", "Metadata/Properties.plist": b"bplist00",
                 "Metadata/DocumentIdentifier": b"5B1F", "preview.jpg": b"\xff\xd8\xff"})


def csv_text(encoding: str = "utf-8") -> bytes:
    text = "地区,统计期,指标,分子,分母\n蕉城区,2024-01,医保电子凭证激活率,1,2\n"
    return text.encode(encoding)


def empty_cells_bomb(megabytes: int = 150) -> bytes:
    """A header, then one row of millions of empty <c/> elements: tiny zipped, within every
    size limit, and slow to read (a CPU bomb the parse worker's time limit must stop)."""
    body = rows_xml([HEADER]) + "<row>" + "<c/>" * (megabytes * 1024 * 1024 // 4) + "</row>"
    return xlsx([SheetSpec("Sheet1", body)])


def shared_strings_bomb(n_strings: int = 6_000_000) -> bytes:
    """A valid sheet whose shared-strings part holds millions of one-letter strings: a reader
    keeps every one in memory (hundreds of MB) before reading any cell."""
    sst = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="' + TRANSITIONAL["main"]
           + f'" count="{n_strings}" uniqueCount="{n_strings}">' + "<si><t>x</t></si>" * n_strings + "</sst>")
    body = long_table_body([["蕉城区", "2024-01", "evoucher_activation_rate", 1, 2]])
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    return with_part(xlsx([SheetSpec("Sheet1", body)]), "sharedStrings.xml", sst.encode(),
                     f'{TRANSITIONAL["rel"]}/sharedStrings', ct)


def rewrite(data: bytes, edit=None, add: dict[str, bytes] | None = None, drop: str | None = None) -> bytes:
    """The package with each part passed through edit(name, content) -> content, parts added
    and one dropped."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != drop:
                content = src.read(info.filename)
                dst.writestr(info.filename, edit(info.filename, content) if edit else content)
        for name, content in (add or {}).items():
            dst.writestr(name, content)
    return buf.getvalue()


def with_part(data: bytes, target: str, content: bytes, rel_type: str, content_type: str) -> bytes:
    """Add a part under xl/ with its workbook relationship and content type to an xlsx() package."""
    def edit(name, part):
        if name == "xl/_rels/workbook.xml.rels":
            return part.replace(b"</Relationships>", f'<Relationship Id="rIdX" Type="{rel_type}" '
                                f'Target="{target}"/></Relationships>'.encode())
        if name == "[Content_Types].xml":
            return part.replace(b"</Types>", f'<Override PartName="/xl/{target}" ContentType="'
                                f'{content_type}"/></Types>'.encode())
        return part
    return rewrite(data, edit, add={f"xl/{target}": content})


def with_styles(data: bytes, styles: bytes, strict: bool = False) -> bytes:
    ns = STRICT if strict else TRANSITIONAL
    return with_part(data, "styles.xml", styles, f'{ns["rel"]}/styles',
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml")


def with_sheet_tail(data: bytes, tail: str, part: str = "xl/worksheets/sheet1.xml") -> bytes:
    """Insert XML (e.g. <mergeCells>) right after a sheet's </sheetData>."""
    return rewrite(data, lambda name, content: content.replace(b"</sheetData>", b"</sheetData>" + tail.encode(), 1)
                   if name == part else content)


def sheet_xml(body: str, strict: bool = False) -> bytes:
    """The worksheet part xlsx() writes for `body` (for the scanner on its own)."""
    ns = STRICT if strict else TRANSITIONAL
    return (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{ns["main"]}"><sheetData>{body}'
            "</sheetData></worksheet>").encode()
