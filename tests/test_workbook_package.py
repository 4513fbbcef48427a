"""The container of an upload: each foreign format named as what it is (with the 另存为 .xlsx
advice), valid packages read whatever their part names, and damaged ones called damaged.

Every file is written byte by byte (tests/ooxml_factory.py) and read with the reader a parse
worker runs (`read_workbook`), in this process: these are the reader's own rules."""
from __future__ import annotations

import io
import zipfile

import pytest

import ooxml_factory as f
from pipelines.returns.extract import extract
from pipelines.returns.workbook import WorkbookError, read_workbook

ROW = ["蕉城区", "2024-01", "evoucher_activation_rate", 1, 2]
BODY = f.long_table_body([ROW])
ADVICE = "另存为"


def refusal(data: bytes, name: str = "报表.xlsx") -> WorkbookError:
    with pytest.raises(WorkbookError) as err:
        read_workbook(data, name)
    return err.value


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                    'content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.'
                    'openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        zf.writestr("_rels/.rels", f._rels([("rId1", f'{f.TRANSITIONAL["rel"]}/officeDocument', "word/document.xml")]))
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


@pytest.mark.parametrize("data, words", [
    (f.SPREADSHEETML_2003, "SpreadsheetML 2003"),
    (f.FODS, ".fods"),
    (f.ods(), ".ods"),
    (f.xlsb(), ".xlsb"),
    (f.numbers(), ".numbers"),
    (f.csv_text("utf-8"), "CSV"),
    (f.csv_text("gbk"), "CSV"),
    (f.csv_text("utf-16"), "CSV"),
    (b"<html><body><table><tr><td>\xe5\x9c\xb0\xe5\x8c\xba</td></tr></table></body></html>", "HTML"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
    (docx(), "Word"),
], ids=["spreadsheetml2003", "fods", "ods", "xlsb", "numbers", "csv-utf8", "csv-gbk", "csv-utf16", "html",
        "pdf", "docx"])
def test_each_foreign_format_is_named_with_the_save_as_advice(data, words):
    """Named from the content: every one of these was uploaded as 报表.xlsx."""
    message = str(refusal(data))
    assert words in message, message
    assert ADVICE in message and ".xlsx 或 .xlsm" in message
    assert "CSV" not in message or words == "CSV"       # SpreadsheetML / .fods are not "text/CSV"


def test_the_real_format_wins_over_the_extension():
    assert ".ods" in str(refusal(f.ods(), "报表.ods")) and "扩展名" not in str(refusal(f.ods(), "报表.ods"))
    assert "扩展名 .ods 不被接受" in str(refusal(f.xlsx([f.SheetSpec("数据", BODY)]), "报表.ods"))


VARIANTS = {
    "transitional": f.Package(),
    "strict": f.Package(strict=True),
    "prefixed": f.Package(prefix="x:"),
    "backslash-paths": f.Package(separator="\\"),
    "WorkBook.xml": f.Package(workbook_part="xl/WorkBook.xml"),
    "root-level": f.Package(workbook_part="workbook.xml"),
    "other-folder": f.Package(workbook_part="spreadsheet/workbook.xml"),
    "book.xml": f.Package(workbook_part="xl/book.xml"),
    "absolute-targets": f.Package(absolute_targets=True),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_valid_part_layouts_are_read(variant):
    pkg = VARIANTS[variant]
    body = f.long_table_body([ROW], prefix=pkg.prefix)
    wb = read_workbook(f.xlsx([f.SheetSpec("数据", body)], pkg), "报表.xlsx")
    assert [s.name for s in wb.sheets] == ["数据"]
    assert wb.sheets[0].rows == [f.HEADER, ["蕉城区", "2024-01", "evoucher_activation_rate", 1.0, 2.0]]
    ex = extract(wb, "报表.xlsx")
    assert [(r.region, r.numerator, r.numerator_cell, r.denominator, r.denominator_cell) for r in ex.rows] == \
        [("蕉城区", 1.0, "D2", 2.0, "E2")]


@pytest.mark.parametrize("kind", ["macrosheet", "dialogsheet", "chartsheet"])
def test_macro_dialog_and_chart_sheets_do_not_hide_the_data(kind):
    """An .xlsm with an Excel 4.0 macro sheet (which the cell reader alone refuses whole), a
    dialog sheet or a chart sheet: the worksheet is read, the other sheet holds no data."""
    extra = f.SheetSpec("宏1", f.rows_xml([["=HALT()"]]), kind=kind)
    wb = read_workbook(f.xlsx([f.SheetSpec("数据", BODY), extra]), "报表.xlsm")
    assert [s.name for s in wb.sheets] == ["数据"]
    assert wb.sheets[0].rows[1] == ["蕉城区", "2024-01", "evoucher_activation_rate", 1.0, 2.0]


@pytest.mark.parametrize("entry, words", [
    ("_rels/.rels", "缺少包关系部件"),
    ("xl/_rels/workbook.xml.rels", "缺少工作簿关系部件"),
    ("xl/worksheets/sheet1.xml", "工作表“数据”的内容部件"),
    ("xl/workbook.xml", "找不到工作簿部件"),
])
def test_damaged_packages_are_called_damaged(entry, words):
    err = refusal(f.rewrite(f.xlsx([f.SheetSpec("数据", BODY)]), drop=entry))
    assert "文件已损坏" in str(err) and words in str(err), str(err)
    assert ADVICE in str(err)
    if "内容部件" in words:
        assert err.sheet == "数据"


def test_a_plain_zip_and_a_renamed_word_file_are_not_called_damaged():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("照片/1.jpg", b"\xff\xd8\xff")
    assert "普通 ZIP 压缩包" in str(refusal(buf.getvalue()))
    assert "Word 文档" in str(refusal(docx())) and "损坏" not in str(refusal(docx()))


def test_a_doctype_in_any_part_is_refused_without_expanding_it():
    laughs = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    sheet = f.xlsx([f.SheetSpec("数据", BODY)])
    for part in ("xl/worksheets/sheet1.xml", "xl/workbook.xml", "_rels/.rels"):
        def edit(name, content, part=part):
            if name != part:
                return content
            head, _, rest = content.partition(b"?>")
            return head + b"?>" + laughs + rest
        assert "DOCTYPE" in str(refusal(f.rewrite(sheet, edit))), part
