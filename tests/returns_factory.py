"""Helpers that write real (and realistically messy) return workbooks for tests.

Other test modules reuse these: `long_table`, `messy_long_table`, `fill_template`, and the
`bad_files` writers for every class of unreadable input.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl

HEADER = ("地区", "统计期", "指标", "分子", "分母")


def long_table(path, rows, *, header=HEADER, sheet="数据", title: str | None = None,
               notes: tuple[str, ...] = ()) -> Path:
    """A plain long table: optional title row, header, rows (tuples in header order), notes."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    for note in notes:
        ws.append([note])
    path = Path(path)
    wb.save(path)
    return path


# What messy_long_table holds: (region code, indicator code, period) -> (numerator, denominator)
MESSY_EXPECTED = {
    ("350902", "evoucher_activation_rate", "2024-01"): (1234567.0, 2000000.0),
    ("350981", "evoucher_activation_rate", "2024-01"): (300000.0, 450000.0),
    ("350900901", "evoucher_activation_rate", "2024-01"): (12345.0, 23456.0),
    ("350921", "evoucher_activation_rate", "2024-01"): (88000.0, 100000.0),
    ("350902", "evoucher_settlement_rate", "2024-01"): (4567.0, 9000.0),
    ("350981", "online_completion_rate", "2024Q1"): (850.0, 1000.0),
    ("350902", "mobile_payment_hospitals", "2024Q1"): (7.0, None),
    ("350981", "evoucher_settlement_rate", "2024-02"): (1000.0, 2000.0),
}


def messy_long_table(path) -> Path:
    """Two data sheets with every mess of DESIGN.md; holds exactly MESSY_EXPECTED."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "一月"
    ws["A1"] = "宁德市 2024年1月 医保便民服务指标汇总表"
    ws.merge_cells("A1:G1")
    ws["A2"] = "填报单位（盖章）："
    ws["E2"] = "填报日期：2024年2月5日"
    # Header in row 4 (any column order), a second label row under it.
    ws.append([])
    ws.append(["序号", "指标名称", "分母", " 地 区 ", "统计期", "分子（人）", "备注"])
    ws.append([None, None, "参保人数", None, None, "已激活人数", None])
    ws.append([1, "医保电子凭证激活率", "2,000,000", "蕉城区 ", "2024年1月", "１２３４５６７", "文本与全角数字"])
    ws.append([2, "电子凭证激活率", 450000, "福安市", "202401", "300，000", "全角逗号"])
    ws.append([])                                            # blank row inside the data
    ws.append([3, "医保电子凭证激活率", " 23456 ", "东侨开发区", "2024.01", 12345, "别名"])
    ws.append([4, "医保电子凭证激活率", "=50000*2", "350921", "2024/1", "=80000+8000", "公式"])
    ws.append([5, "医保电子凭证结算率", 9000, "蕉城区", "2024-01", 4567, None])
    ws.append([])
    ws.append(["填报说明：分子为月末累计数。"])
    ws.append([None, None, None, "制表人：张三", "审核人：李四"])
    # Cached values for the formulas (as Excel would have saved them): written below.
    ws2 = wb.create_sheet("季度")
    ws2.append(["地区名称", "季度", "指标编码", "数值", "分子", "分母"])
    ws2.append(["福安", "2024年第一季度", "online_completion_rate", None, 850, 1000])
    ws2.append(["蕉城区", "2024年一季度", "mobile_payment_hospitals", 7, None, None])
    ws2.append(["福安市", "2024-02", "医保电子凭证结算率", None, "1,000", "2 000"])
    ws2.append(["合计", "2024年第一季度", "online_completion_rate", None, 850, 1000])
    wb.create_sheet("说明").append(["本表按月汇总，数据由各县区报送。"])
    path = Path(path)
    wb.save(path)
    _set_cached_values(path, "xl/worksheets/sheet1.xml", {"C10": "100000", "F10": "88000"})
    return path


def _set_cached_values(path: Path, part: str, values: dict[str, str]) -> None:
    """Give formulas the cached values Excel writes on save (openpyxl writes none)."""
    data = Path(path).read_bytes()
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            content = zin.read(info.filename)
            if info.filename == part:
                text = content.decode()
                for cell, value in values.items():
                    start = text.index(f'<c r="{cell}"')
                    end = text.index("</c>", start)
                    chunk = text[start:end].replace("<v></v>", f"<v>{value}</v>").replace("<v />", f"<v>{value}</v>")
                    text = text[:start] + chunk + text[end:]
                content = text.encode()
            zout.writestr(info, content)
    Path(path).write_bytes(out.getvalue())


def fill_template(template, out, values: dict[str, tuple], *, as_text: bool = False,
                  edit=None) -> Path:
    """Fill a downloaded template as a district official would (openpyxl, like Excel/WPS).

    values: indicator code -> (numerator, denominator or None). as_text: type numbers as text.
    edit: optional callable(workbook) for further changes (tampering tests).
    """
    wb = openpyxl.load_workbook(template)
    ws = wb["填报表"]
    header = next(r for r in range(1, 11) if ws.cell(r, 1).value == "指标编码")
    for r in range(header + 1, ws.max_row + 1):
        code = ws.cell(r, 1).value
        if code in values:
            num, den = values[code]
            ws.cell(r, 3).value = str(num) if as_text and num is not None else num
            ws.cell(r, 4).value = str(den) if as_text and den is not None else den
    if edit:
        edit(wb)
    wb.save(out)
    return Path(out)


def template_cells(path) -> dict[str, tuple[int, str]]:
    """indicator code -> (row number, numerator cell) in a template."""
    ws = openpyxl.load_workbook(path)["填报表"]
    header = next(r for r in range(1, 11) if ws.cell(r, 1).value == "指标编码")
    return {ws.cell(r, 1).value: (r, f"C{r}") for r in range(header + 1, ws.max_row + 1) if ws.cell(r, 1).value}


# ---------------------------------------------------------------- unreadable inputs
def empty_file(path) -> Path:
    Path(path).write_bytes(b"")
    return Path(path)


def csv_renamed(path) -> Path:
    Path(path).write_text("地区,统计期,指标,分子,分母\n蕉城区,2024-01,医保电子凭证激活率,1,2\n", encoding="utf-8")
    return Path(path)


def old_xls(path) -> Path:
    Path(path).write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000 + "Workbook".encode("utf-16-le"))
    return Path(path)


def encrypted_workbook(path) -> Path:
    """An OLE container with EncryptionInfo / EncryptedPackage streams (Excel's "password to open")."""
    body = b"\x00" * 512 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 64 + \
        "EncryptedPackage".encode("utf-16-le") + b"\x00" * 1024
    Path(path).write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + body)
    return Path(path)


def corrupt_zip(path, good: Path) -> Path:
    data = Path(good).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])
    return Path(path)


def zip_bomb(path, unzipped_mb: int = 210) -> Path:
    """A small .xlsx-looking zip whose members inflate past the 200 MB limit."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            block = b"0" * (1 << 20)
            for _ in range(unzipped_mb):
                fh.write(block)
    return Path(path)
