"""Pre-checks that see every file: the sheet XML is scanned the way the cell reader positions
cells — Strict or Transitional, prefixed or not, with or without `r=` — and all sheets together
are held to a cells cap derived from the worker's memory. Files written byte by byte; numbers
hand-computed."""
from __future__ import annotations

import pytest

import ooxml_factory as f
from pipelines.returns.ooxml_package import MIB, Limits, cells_for_memory
from pipelines.returns.sheet_scan import scan_sheet
from pipelines.returns.workbook import WorkbookError, read_workbook

H = f.HEADER


def read(data: bytes, limits: Limits = Limits()):
    return read_workbook(data, "报表.xlsx", limits)


def refusal(data: bytes, limits: Limits = Limits()) -> WorkbookError:
    with pytest.raises(WorkbookError) as err:
        read(data, limits)
    return err.value


def test_the_cells_cap_follows_from_the_worker_memory():
    # (1024 MiB − 256 MiB reserved) / 48 bytes per cell = 16,777,216 cells
    assert cells_for_memory(1024 * MIB) == 16_777_216
    assert cells_for_memory(2048 * MIB) == (2048 - 256) * MIB // 48 == 39_146_837
    assert Limits().max_cells == 16_777_216


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "transitional"])
def test_a_far_cell_is_refused_before_any_grid_is_allocated(strict):
    err = refusal(f.far_cell(strict=strict))
    assert "工作表有 1048576 行，超过上限 100000 行" in str(err) and err.sheet == "Sheet1"


def test_a_far_cell_with_prefixed_elements_is_seen():
    body = f.rows_xml([H], prefix="x:") + '<x:row r="1048576"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>'
    err = refusal(f.xlsx([f.SheetSpec("Sheet1", body)], f.Package(strict=True, prefix="x:")))
    assert "1048576 行" in str(err)


def test_cells_without_refs_are_counted_where_the_reader_puts_them():
    assert "工作表有 16384 列，超过上限 200 列" in str(refusal(f.cells_without_refs(16_384, row=None)))
    assert "1048576 行" in str(refusal(f.cells_without_refs(16_384)))       # the row of the report


def test_positions_without_refs_follow_the_previous_row_and_cell():
    """<row r="3"> then a row without r is row 4; a cell without r follows the cell before it."""
    body = ('<row r="1"><c r="A1" t="inlineStr"><is><t>地区</t></is></c></row>'
            '<row r="3"><c><v>1</v></c><c r="C3"><v>2</v></c><c><v>3</v></c></row>'
            '<row><c><v>4</v></c></row>')
    wb = read(f.xlsx([f.SheetSpec("S", body)]))
    assert wb.sheets[0].rows == [["地区", "", "", ""], ["", "", "", ""], [1.0, "", 2.0, 3.0], [4.0, "", "", ""]]
    scan = scan_sheet(f.sheet_xml(body), "S", set())
    assert (scan.rows, scan.cols) == (4, 4)


def test_empty_styled_cells_far_away_do_not_count():
    """The reader skips cells without a value (a formatted blank at XFD1048576 is harmless)."""
    body = f.rows_xml([H, ["蕉城区", "2024-01", "x", 1, 2]]) + \
        '<row r="1048576"><c r="XFD1048576" s="1"/><c r="XFD1" s="1"><v></v></c></row>'
    wb = read(f.xlsx([f.SheetSpec("S", body)]))
    assert len(wb.sheets[0].rows) == 2 and len(wb.sheets[0].rows[0]) == 5


def test_many_sheets_each_within_the_limits_are_refused_together():
    err = refusal(f.many_far_sheets(8, "GR100000"))
    # 8 sheets × 100,000 rows × 200 columns = 160,000,000 cells > 16,777,216
    assert "合计 160,000,000 个单元格" in str(err) and "上限 16,777,216 个" in str(err)
    assert "“表1” 100000 行 × 200 列" in str(err)


def test_the_cap_is_the_total_not_each_sheet():
    """Two sheets of 60 × 50 = 3,000 cells each: each fits a cap of 5,000, both do not."""
    body = f.rows_xml([H]) + '<row r="60"><c r="AX60"><v>1</v></c></row>'
    two = f.xlsx([f.SheetSpec("甲", body), f.SheetSpec("乙", body)])
    one = f.xlsx([f.SheetSpec("甲", body)])
    assert len(read(one, Limits(max_cells=5_000)).sheets) == 1
    assert "合计 6,000 个单元格" in str(refusal(two, Limits(max_cells=5_000)))


def test_a_date_cell_no_calendar_holds_is_named_in_a_strict_file():
    styles = ('<?xml version="1.0"?><styleSheet xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main">'
              '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs></styleSheet>').encode()
    body = f.rows_xml([H]) + '<row r="2"><c r="B2" s="1"><v>-1e12</v></c></row>'
    data = f.with_styles(f.xlsx([f.SheetSpec("数据", body)], f.Package(strict=True)), styles, strict=True)
    err = refusal(data)
    assert err.sheet == "数据" and err.cell == "B2" and "不是有效日期" in str(err)


def test_an_uncached_formula_in_a_cell_without_ref_is_named():
    body = f.rows_xml([H]) + ('<row r="2"><c r="A2" t="inlineStr"><is><t>蕉城区</t></is></c>'
                              '<c r="C2"><v>5</v></c><c><f>1+1</f></c><c><v>2</v></c></row>')
    wb = read(f.xlsx([f.SheetSpec("数据", body)]))
    assert wb.sheets[0].uncached == {"D2"}                 # after C2: the formula sits in D2
    assert wb.sheets[0].rows[1] == ["蕉城区", "", 5.0, "", 2.0]


def test_too_many_merged_ranges_are_refused():
    merges = "".join(f'<mergeCell ref="A{i}:B{i}"/>' for i in range(1, 12))
    data = f.with_sheet_tail(f.xlsx([f.SheetSpec("数据", f.rows_xml([H]))]), f"<mergeCells>{merges}</mergeCells>")
    assert "合并单元格区域超过 10 个" in str(refusal(data, Limits(max_merged_ranges=10)))
    assert len(read(data, Limits(max_merged_ranges=11)).sheets) == 1


def test_malformed_sheet_xml_is_called_damaged_with_its_sheet():
    err = refusal(f.xlsx([f.SheetSpec("数据", f.rows_xml([H]) + "<row><c><v>1</c></row>")]))
    assert "文件已损坏" in str(err) and err.sheet == "数据"
