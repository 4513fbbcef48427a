"""What an uploaded file really is, when it is not an .xlsx/.xlsm workbook.

Officials upload whatever their software saved: Excel 2003 XML, flat or zipped OpenDocument,
binary .xlsb, Apple Numbers, CSV, a web page their system called "xls", a PDF scan. Each gets a
sentence naming what it is (from its content, not its extension), and where Excel's 另存为 is not
the way, how to turn it into an .xlsx; the caller appends `ACCEPTED` (the formats read, and the
另存为 .xlsx advice). Pure functions on bytes; no XML is parsed here.
"""
from __future__ import annotations

import re
import zipfile

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODF_SPREADSHEET = b"application/vnd.oasis.opendocument.spreadsheet"
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _printable(text: str) -> str | None:
    return None if any(ord(ch) < 9 or 13 < ord(ch) < 32 for ch in text) else text


def _head_text(data: bytes, size: int = 4096) -> str | None:
    """The start of the file as text, or None when it is binary."""
    head = data[:size]
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return _printable(head[len(bom):].decode(encoding, errors="ignore"))
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] and head[2]:
        return _printable(head.decode("utf-16-le", errors="ignore"))      # UTF-16 without a BOM
    for encoding in ("utf-8", "gb18030"):
        try:
            return _printable(head.decode(encoding))
        except UnicodeDecodeError as exc:
            if len(data) > size and exc.start >= len(head) - 4:       # a character cut at the end
                return _printable(head[:exc.start].decode(encoding, errors="ignore"))
    return None


def describe_other(data: bytes) -> str:
    """What a file that is neither an OLE compound file nor a zip is."""
    return _binary_signature(data) or describe_text(data) or "文件内容不是 Excel 工作簿（无法识别的格式）"


def describe_text(data: bytes) -> str | None:
    """The format of a file that is text (XML, HTML, CSV…), or None when it is not text."""
    text = _head_text(data)
    if text is None:
        return None
    low = text.lstrip().lower()
    if "urn:schemas-microsoft-com:office:spreadsheet" in low or 'progid="excel.sheet"' in low:
        return "这是 Excel 2003 XML 表格（SpreadsheetML 2003）文件，不是 .xlsx 工作簿"
    if "urn:oasis:names:tc:opendocument" in low and "office:document" in low:
        return ("这是 OpenDocument 平面表格（.fods，LibreOffice 等保存）文件，不是 .xlsx 工作簿："
                "可在 LibreOffice 或 WPS 中“另存为 → Excel 2007-365 (.xlsx)”")
    if re.match(r"(<!doctype html|<html|<table|<head|<meta)", low) or ("<html" in low[:1024] and "<table" in low):
        return "这是网页（HTML）格式的表格（常见于从业务系统导出的“.xls”），不是 Excel 工作簿"
    if low.startswith("<"):
        return "这是 XML 文本文件，不是 Excel 工作簿"
    if "," in text or "\t" in text or "，" in text or "\n" in text:
        return "这是文本/CSV 文件，不是 Excel 工作簿（用 Excel 打开 CSV 时请确认编码和分隔符）"
    return "这是纯文本文件，不是 Excel 工作簿"


def _binary_signature(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "这是 PDF 文件，系统无法从中读取数据：请上传填写好的 Excel 报表，不要上传扫描件或打印件"
    if data.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM")):
        return "这是图片文件，系统无法从中读取数据：请上传填写好的 Excel 报表，不要上传截图或照片"
    if data.startswith((b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")):
        return "这是压缩包（RAR/7z/gzip），不是 Excel 工作簿：请解压后上传其中的 .xlsx 文件"
    return None


def describe_ole(data: bytes) -> str:
    """An OLE compound file: encrypted OOXML, or a legacy .xls / WPS .et workbook."""
    if "EncryptionInfo".encode("utf-16-le") in data or b"EncryptedPackage" in data \
            or "EncryptedPackage".encode("utf-16-le") in data:
        return ("工作簿设置了打开密码（已加密），系统无法读取：请在 Excel 中取消密码（文件 → 信息 → "
                "保护工作簿 → 用密码进行加密，清空密码）后另存")
    return "这是旧版 Excel 97-2003 (.xls) 或 WPS 表格 (.et) 文件"


def describe_zip(zf: zipfile.ZipFile, names: dict[str, str]) -> str | None:
    """A zip that is not an OOXML spreadsheet package: what it is (None when it may be one).

    `names` maps each entry's normalised name (lower case, "/" separators) to its real name.
    """
    if "mimetype" in names:
        try:
            mime = zf.read(names["mimetype"])[:200].strip()
        except Exception:  # noqa: BLE001 - a damaged mimetype entry says nothing about the format
            mime = b""
        if mime == ODF_SPREADSHEET:
            return ("这是 OpenDocument 表格（.ods，LibreOffice、WPS 等保存）文件，不是 .xlsx 工作簿："
                    "可在 LibreOffice 或 WPS 中“另存为 → Excel 2007-365 (.xlsx)”")
        if mime.startswith(b"application/vnd.oasis.opendocument"):
            return "这是 OpenDocument 文档（如 .odt 文字文档），不是 Excel 工作簿"
    if "index/document.iwa" in names or any(n.startswith("index/") and n.endswith(".iwa") for n in names) \
            or "index.zip" in names:
        return ("这是苹果 Numbers 表格（.numbers）文件，不是 Excel 工作簿：可在 Numbers 中选择"
                "“文件 → 导出为 → Excel…”导出 .xlsx")
    return None


def describe_office_document(target: str, content_type: str | None) -> str | None:
    """The package's main part is not a spreadsheet XML workbook: what it is (None if it is)."""
    t = target.lower()
    ct = (content_type or "").lower()
    if t.endswith(".bin") or "sheet.binary" in ct:
        return "这是 Excel 二进制工作簿（.xlsb）文件，系统不读取这种格式"
    if "wordprocessingml" in ct or t.startswith("word/"):
        return "这是 Word 文档（.docx），不是 Excel 工作簿"
    if "presentationml" in ct or t.startswith("ppt/"):
        return "这是 PowerPoint 演示文稿（.pptx），不是 Excel 工作簿"
    return None
