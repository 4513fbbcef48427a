"""Cleaning cells, refusing unreadable files, extracting both layouts from messy workbooks."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from pipelines.returns.cells import CellError, address, match_key, parse_number
from pipelines.returns.extract import extract
from pipelines.returns.workbook import Limits, WorkbookError, read_workbook
import returns_factory as rf

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "samples" / "宁德市_2022年四季度_电子凭证激活汇总表.xlsx"


@pytest.mark.parametrize("raw, value", [
    (314442.0, 314442.0), (7, 7.0), ("399563", 399563.0), ("101,794", 101794.0), ("1，234，567", 1234567.0),
    ("１２３４", 1234.0), (" 23456 ", 23456.0), ("2 000", 2000.0), ("0", 0.0), ("12.5", 12.5),
    ("", None), (None, None), ("-", None), ("—", None), ("-3", -3.0),
])
def test_parse_number_cleans_what_is_unambiguous(raw, value):
    assert parse_number(raw) == value


@pytest.mark.parametrize("raw", ["12,34", "约100", "85%", "100人", "#DIV/0!", True, dt.date(2024, 1, 5), "1.2.3"])
def test_parse_number_refuses_the_rest(raw):
    with pytest.raises(CellError):
        parse_number(raw, "分子")


def test_match_key_folds_quotes_spaces_and_width():
    assert match_key('医保服务事项"网上办""掌上办"办结率') == match_key("医保服务事项“网上办”“掌上办”办结率")
    assert match_key(" 蕉城区 ") == match_key("蕉城区") and match_key("ＡＢ　c") == "abc"
    assert address(6, 2) == "C7" and address(0, 27) == "AB1"


def test_sample_extracts_thirty_rows_with_cells():
    ex = extract(read_workbook(SAMPLE.read_bytes(), SAMPLE.name), SAMPLE.name)
    assert ex.layout == "long" and ex.errors == [] and len(ex.rows) == 30
    first,霞浦 = ex.rows[0], ex.rows[3]
    assert (first.region, first.period, first.numerator, first.denominator) == ("蕉城区", "2022年10月", 314442.0, 399563.0)
    assert (first.numerator_cell, first.denominator_cell, first.row_number) == ("E5", "F5", 5)
    assert 霞浦.numerator == 101794.0           # '101,794' typed as text
    assert ex.rows[-1].region == "东侨经济技术开发区" and ex.rows[-1].row_number == 34


def test_messy_long_table_extracts_both_sheets(tmp_path):
    path = rf.messy_long_table(tmp_path / "messy.xlsx")
    ex = extract(read_workbook(path.read_bytes(), path.name), path.name)
    assert ex.errors == []
    got = {(r.sheet, r.row_number): (r.numerator, r.denominator, r.numerator_cell, r.denominator_cell) for r in ex.rows}
    assert got == {
        ("一月", 6): (1234567.0, 2000000.0, "F6", "C6"), ("一月", 7): (300000.0, 450000.0, "F7", "C7"),
        ("一月", 9): (12345.0, 23456.0, "F9", "C9"), ("一月", 10): (88000.0, 100000.0, "F10", "C10"),
        ("一月", 11): (4567.0, 9000.0, "F11", "C11"), ("季度", 2): (850.0, 1000.0, "E2", "F2"),
        ("季度", 3): (7.0, None, "D3", "F3"), ("季度", 4): (1000.0, 2000.0, "E4", "F4"),
    }
    # the 合计 line is no data: set aside for validation to compare with the sum (not an error)
    assert ex.warnings == []
    assert [(t.sheet, t.region_cell, t.numerator, t.denominator) for t in ex.totals] == [
        ("季度", "A5", 850.0, 1000.0)]


def test_formula_without_cached_value_names_the_cell(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据"
    ws.append(list(rf.HEADER))
    ws.append(["蕉城区", "2024-01", "医保电子凭证激活率", "=1+1", 10])
    wb.save(tmp_path / "f.xlsx")
    ex = extract(read_workbook((tmp_path / "f.xlsx").read_bytes(), "f.xlsx"), "f.xlsx")
    assert [str(e) for e in ex.errors] == ["数据!D2: 分子是公式但没有保存计算结果：请在 Excel 中打开并保存后再上传"]


def test_missing_header_columns_are_named(tmp_path):
    path = rf.long_table(tmp_path / "h.xlsx", [("蕉城区", "医保电子凭证激活率", 1, 2)],
                         header=("地区", "指标", "分子", "分母"))
    ex = extract(read_workbook(path.read_bytes(), path.name), path.name)
    assert len(ex.errors) == 1 and "统计期" in ex.errors[0].message and ex.errors[0].sheet == "数据"


@pytest.mark.parametrize("maker, words", [
    (rf.empty_file, "空的"), (rf.csv_renamed, "CSV"), (rf.old_xls, ".xls"), (rf.encrypted_workbook, "密码"),
])
def test_unreadable_files_name_the_accepted_formats(tmp_path, maker, words):
    path = maker(tmp_path / "bad.xlsx")
    with pytest.raises(WorkbookError) as err:
        read_workbook(path.read_bytes(), path.name)
    assert words in str(err.value) and ".xlsx 或 .xlsm" in str(err.value)


def test_corrupt_zip_zip_bomb_and_limits(tmp_path):
    good = rf.long_table(tmp_path / "good.xlsx", [("蕉城区", "2024-01", "医保电子凭证激活率", 1, 2)] * 30)
    with pytest.raises(WorkbookError, match="损坏"):
        read_workbook(rf.corrupt_zip(tmp_path / "c.xlsx", good).read_bytes(), "c.xlsx")
    with pytest.raises(WorkbookError, match="压缩炸弹"):
        read_workbook(rf.zip_bomb(tmp_path / "z.xlsx").read_bytes(), "z.xlsx")
    with pytest.raises(WorkbookError, match="超过上限 10 行") as err:
        read_workbook(good.read_bytes(), good.name, Limits(max_rows=10))
    assert err.value.sheet == "数据"
    with pytest.raises(WorkbookError, match="超过上限 1 MB"):
        read_workbook(b"PK" + b"\0" * (1 << 21), "big.xlsx", Limits(max_file_bytes=1 << 20))
    with pytest.raises(WorkbookError, match="扩展名 .ods"):
        read_workbook(good.read_bytes(), "x.ods")
