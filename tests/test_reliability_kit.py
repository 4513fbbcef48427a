"""Helpers of the reliability suite (returns written as real .xlsx, raw-zip workbooks for hostile
files, warehouse invariants), and the tests that prove the helpers themselves are sound."""
from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb
import pytest

NINGDE_DISTRICTS = ["350902", "350981", "350982", "350921", "350922", "350923", "350924", "350925",
                    "350926", "350900901"]
MONTHLY = ["evoucher_activation_rate", "evoucher_settlement_rate", "on_time_completion_rate"]
QUARTERLY = ["full_online_items_rate", "better_than_province_items_rate", "town_window_rate"]
QUARTERLY_COUNT = ["hospital_service_stations"]


def long_rows(year: int, districts=NINGDE_DISTRICTS, seed: int = 0, months=range(1, 13),
              note: str | None = None) -> list[tuple]:
    """Valid long-table rows (地区, 统计期, 指标, 分子, 分母, 备注) for one year of returns.

    Smooth like real returns (stock values never fall, rates drift slowly) so that they draw
    no plausibility warnings; `seed` shifts the values (a corrected return of the same keys)."""
    rng = random.Random(f"{year}-{seed}")
    rows = []
    for d in districts:
        base = rng.randint(20_000, 80_000)
        for m in months:
            t = (year - 2022) * 12 + m
            # rates drift up 1 point a month to 2024, then level off below 100 % (any year)
            drift = 0.01 * t if t <= 36 else 0.36 + 0.02 * (1 - 36 / t)
            for k, ind in enumerate(MONTHLY):
                den = base + 100 * t + seed
                rows.append((d, f"{year}-{m:02d}", ind, int(den * (0.5 + drift + 0.05 * k)), den, note))
        for q in sorted({(m - 1) // 3 + 1 for m in months}):
            t = (year - 2022) * 4 + q
            for k, ind in enumerate(QUARTERLY):
                den = 100 + k + seed
                rows.append((d, f"{year}年第{'一二三四'[q - 1]}季度", ind, 40 + 2 * t + k, den, note))
            for ind in QUARTERLY_COUNT:
                rows.append((d, f"{year}Q{q}", ind, max(t // 3, 0) + seed, None, note))
    return rows


def write_long_table(path: Path, rows: list[tuple], title: str = "宁德市医保便民服务指标汇总表") -> Path:
    """A long table as a city compiles it: title row, blank row, header on row 3, data from row 4."""
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总表"
    ws.append([title])
    ws.append([])
    ws.append(["地区", "统计期", "指标", "分子", "分母", "备注"])
    for r in rows:
        ws.append(list(r))
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"         # text as typed, even when it starts with "="
    wb.save(path)
    return path


def raw_xlsx(sheet_xml: bytes, workbook_xml: bytes | None = None, extra: dict[str, bytes] | None = None,
             compresslevel: int = 9) -> bytes:
    """A minimal .xlsx zip written by hand (for hostile files that openpyxl would never write)."""
    parts = {
        "[Content_Types].xml": b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
        b'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="applicat'
        b'ion/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="appl'
        b'ication/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlforma'
        b'ts-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xm'
        b'l" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxm'
        b'lformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlfor'
        b'mats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": workbook_xml or (
            b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spre'
            b'adsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relations'
            b'hips"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://'
        b'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://sche'
        b'mas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        b'</Relationships>',
        "xl/worksheets/sheet1.xml": sheet_xml,
        **(extra or {}),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
              b'spreadsheetml/2006/main"><sheetData>')
SHEET_TAIL = b"</sheetData></worksheet>"


def sheet_rows_xml(rows: list[list]) -> bytes:
    """<row> elements with inline strings and numbers, from A1."""
    out = []
    for i, row in enumerate(rows, start=1):
        cells = []
        for j, v in enumerate(row):
            ref = f"{chr(65 + j)}{i}"
            if v is None:
                continue
            if isinstance(v, int | float):
                cells.append(f'<c r="{ref}"><v>{v}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(v))}</t></is></c>')
        out.append(f'<row r="{i}">{"".join(cells)}</row>')
    return "".join(out).encode()


def invariants(db_path) -> dict:
    """Open the warehouse (it must open) and check that nothing is half-written.

    Returns the state that a re-run must converge to: current values and accepted file hashes.
    """
    con = duckdb.connect(str(db_path))
    try:
        partial = con.execute("""
            SELECT s.submission_id, s.file_name, s.row_count, s.revision_count, count(v.value_id)
            FROM submissions s LEFT JOIN return_values v USING (submission_id)
            WHERE s.status = 'accepted' GROUP BY ALL
            HAVING count(v.value_id) > s.row_count OR count(v.value_id) < s.revision_count""").fetchall()
        assert partial == [], f"partially loaded submissions: {partial}"
        rejected_with_values = con.execute("""
            SELECT count(*) FROM return_values v JOIN submissions s USING (submission_id)
            WHERE s.status <> 'accepted'""").fetchall()[0][0]
        assert rejected_with_values == 0
        orphans = con.execute("SELECT count(*) FROM return_values v ANTI JOIN submissions s "
                              "USING (submission_id)").fetchall()[0][0]
        assert orphans == 0
        no_lineage = con.execute("SELECT count(*) FROM return_values v ANTI JOIN value_lineage l "
                                 "USING (value_id)").fetchall()[0][0]
        assert no_lineage == 0
        double_current = con.execute("""
            SELECT region_code, indicator_code, period, count(*) FROM return_values
            WHERE superseded_at IS NULL GROUP BY ALL HAVING count(*) > 1""").fetchall()
        assert double_current == []
        dup_hash = con.execute("SELECT content_hash, count(*) FROM submissions WHERE status = 'accepted' "
                               "GROUP BY ALL HAVING count(*) > 1").fetchall()
        assert dup_hash == [], f"a file was loaded twice: {dup_hash}"
        current = set(con.execute("SELECT region_code, indicator_code, period, numerator, denominator "
                                  "FROM return_values WHERE superseded_at IS NULL").fetchall())
        per_file = dict(con.execute("""
            SELECT s.content_hash, count(v.value_id) FROM submissions s
            LEFT JOIN return_values v USING (submission_id) WHERE s.status = 'accepted' GROUP BY ALL""").fetchall())
        return {"current": current, "files": per_file}
    finally:
        con.close()


# ------------------------------------------------------------------ the helpers' own tests

def test_long_rows_cover_a_year_and_the_writer_round_trips(tmp_path):
    from openpyxl import load_workbook
    rows = long_rows(2023)
    assert len(rows) == 10 * (12 * 3 + 4 * 4)          # 10 districts × (36 monthly + 16 quarterly)
    path = write_long_table(tmp_path / "a.xlsx", rows)
    ws = load_workbook(path).active
    assert ws["A3"].value == "地区" and ws["D4"].value == rows[0][3] and ws.max_row == 3 + len(rows)


@pytest.mark.parametrize("year", range(2019, 2027))
def test_long_rows_are_valid_returns_in_every_year_the_soak_uses(year):
    # the soak once generated 分子 > 分母 for 2025 and later (a rate drifting past 100 %)
    for d, _, ind, num, den, _ in long_rows(year, seed=3):
        assert num >= 0, (year, d, ind, num)
        if den is not None:
            assert 0 < den and num <= den, (year, d, ind, num, den)


def test_raw_xlsx_is_a_workbook_calamine_reads(tmp_path):
    from python_calamine import CalamineWorkbook
    data = raw_xlsx(SHEET_HEAD + sheet_rows_xml([["地区", "统计期"], ["蕉城区", 12.5]]) + SHEET_TAIL)
    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert wb.get_sheet_by_name("Sheet1").to_python() == [["地区", "统计期"], ["蕉城区", 12.5]]


def test_invariants_catch_a_partial_load(warehouse_path):
    from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
    from pipelines.periods import month
    con = duckdb.connect(str(warehouse_path))
    rows = [ReturnRow("350902", "evoucher_activation_rate", month(2023, m), 5.0, 10.0, sheet="S",
                      row_number=m, numerator_cell=f"D{m}", denominator_cell=f"E{m}") for m in (1, 2, 3)]
    load_rows(con, rows, SubmissionMeta("a.xlsx", "h1"))
    con.close()
    state = invariants(warehouse_path)
    assert len(state["current"]) == 3 and state["files"] == {"h1": 3}
    con = duckdb.connect(str(warehouse_path))
    con.execute("DELETE FROM return_values WHERE period = '2023-03'")
    con.close()
    assert invariants(warehouse_path)["files"] == {"h1": 2}   # the crash test compares with 3 rows
    con = duckdb.connect(str(warehouse_path))
    con.execute("UPDATE submissions SET status = 'rejected'")
    con.close()
    with pytest.raises(AssertionError):
        invariants(warehouse_path)
