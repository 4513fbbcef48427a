"""Hostile files: zip bombs (honest and lying headers), a huge sheet, billion-laughs entities,
deeply nested XML, a number Excel would show as a date that no date library can hold, and
formula-injection text that must come out neutralised in the exports.

Each upload goes through the real command line (`python -m pipelines ingest`) under a memory
limit and a time limit: it must end with a clean Chinese rejection (exit 1), never a traceback."""
from __future__ import annotations

import io
import os
import re
import resource
import struct
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from test_reliability_kit import SHEET_HEAD, SHEET_TAIL, long_rows, raw_xlsx, sheet_rows_xml, write_long_table

ROOT = Path(__file__).resolve().parent.parent
MEMORY_LIMIT = 2 * 1024**3
CJK = re.compile(r"[\u4e00-\u9fff]")
HEADER = [["地区", "统计期", "指标", "分子", "分母"]]


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def ingest_cli(db: Path, path: Path, timeout: float = 90) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pipelines", "ingest", str(path), "--db", str(db)],
                          cwd=db.parent, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=_limit_memory, env={**os.environ, "GX_ANALYTICS_ENABLED": "false"})
    return proc, time.perf_counter() - start


def assert_clean_rejection(db: Path, proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 1, f"exit {proc.returncode}: {proc.stderr[-1500:]}"
    assert "Traceback" not in proc.stderr and "panicked" not in proc.stderr, proc.stderr[-1500:]
    assert "退回" in proc.stderr and CJK.search(proc.stderr)
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM return_values").fetchall() == [(0,)]
        assert con.execute("SELECT status FROM submissions").fetchall() == [("rejected",)]
    finally:
        con.close()


def _lie_about_sizes(data: bytes, part: str, claimed: int) -> bytes:
    """Rewrite the local and central headers of `part` to claim `claimed` uncompressed bytes."""
    out = bytearray(data)
    name = part.encode()
    i = out.find(b"PK\x03\x04")
    while i != -1:
        n, m = struct.unpack_from("<HH", out, i + 26)
        if bytes(out[i + 30:i + 30 + n]) == name:
            struct.pack_into("<I", out, i + 22, claimed)
        i = out.find(b"PK\x03\x04", i + 4)
    i = out.find(b"PK\x01\x02")
    while i != -1:
        n = struct.unpack_from("<H", out, i + 28)[0]
        if bytes(out[i + 46:i + 46 + n]) == name:
            struct.pack_into("<I", out, i + 24, claimed)
        i = out.find(b"PK\x01\x02", i + 4)
    return bytes(out)


def _bomb_xml(mb: int) -> bytes:
    return SHEET_HEAD + sheet_rows_xml(HEADER) + b" " * (mb * 1024 * 1024) + SHEET_TAIL


def test_zip_bomb_is_refused(warehouse_path, tmp_path):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(raw_xlsx(_bomb_xml(300)))
    assert path.stat().st_size < 2 * 1024 * 1024          # tiny file, 300 MB inside
    proc, seconds = ingest_cli(warehouse_path, path)
    assert_clean_rejection(warehouse_path, proc)
    assert "压缩炸弹" in proc.stderr and seconds < 60


def test_zip_bomb_with_lying_headers_is_refused(warehouse_path, tmp_path):
    """Headers claim 1 KB; the sheet inflates to 120,000 rows (~20 MB) the reader must not trust."""
    rows = sheet_rows_xml(HEADER + [["蕉城区", "2024-01", "evoucher_activation_rate", 1, 2]] * 120_000)
    data = raw_xlsx(SHEET_HEAD + rows + SHEET_TAIL)
    path = tmp_path / "liar.xlsx"
    path.write_bytes(_lie_about_sizes(data, "xl/worksheets/sheet1.xml", 1024))
    proc, seconds = ingest_cli(warehouse_path, path)
    assert_clean_rejection(warehouse_path, proc)
    assert seconds < 60


def test_huge_sheet_is_refused_naming_the_limit(warehouse_path, tmp_path):
    rows = HEADER + [["蕉城区", "2024-01", "evoucher_activation_rate", 1, 2]] * 100_001
    path = tmp_path / "huge.xlsx"
    path.write_bytes(raw_xlsx(SHEET_HEAD + sheet_rows_xml(rows) + SHEET_TAIL))
    proc, seconds = ingest_cli(warehouse_path, path)
    assert_clean_rejection(warehouse_path, proc)
    assert "100002 行" in proc.stderr and "100000" in proc.stderr


def test_a_single_far_cell_does_not_make_a_million_rows(warehouse_path, tmp_path):
    xml = SHEET_HEAD + sheet_rows_xml(HEADER) + b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>' \
        + SHEET_TAIL
    path = tmp_path / "far.xlsx"
    path.write_bytes(raw_xlsx(xml))
    proc, seconds = ingest_cli(warehouse_path, path)
    assert_clean_rejection(warehouse_path, proc)
    assert seconds < 30


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b"]>")


@pytest.mark.parametrize("where", ["sheet", "workbook", "shared_strings"])
def test_billion_laughs_is_not_expanded(warehouse_path, tmp_path, where):
    body = sheet_rows_xml(HEADER) + b'<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    sheet = SHEET_HEAD + body + SHEET_TAIL
    workbook = extra = None
    if where == "sheet":
        sheet = LAUGHS + sheet[sheet.index(b"?>") + 2:]
    elif where == "workbook":
        workbook = LAUGHS + (b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:'
                             b'r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                             b'<sheet name="&lol9;" sheetId="1" r:id="rId1"/></sheets></workbook>')
        sheet = SHEET_HEAD + sheet_rows_xml(HEADER) + SHEET_TAIL
    else:
        extra = {"xl/sharedStrings.xml": LAUGHS + b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                 b'2006/main" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'}
        sheet = SHEET_HEAD + sheet_rows_xml(HEADER) + b'<row r="2"><c r="A2" t="s"><v>0</v></c></row>' + SHEET_TAIL
    path = tmp_path / "laughs.xlsx"
    path.write_bytes(raw_xlsx(sheet, workbook_xml=workbook, extra=extra))
    proc, seconds = ingest_cli(warehouse_path, path)
    assert_clean_rejection(warehouse_path, proc)
    assert seconds < 30 and "lollollol" not in proc.stderr


def test_deeply_nested_xml_is_refused(warehouse_path, tmp_path):
    depth = 200_000
    xml = SHEET_HEAD + sheet_rows_xml(HEADER) + b"<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is>" \
        + b"<r>" * depth + b"</r>" * depth + b"</is></c></row>" + SHEET_TAIL
    path = tmp_path / "nested.xlsx"
    path.write_bytes(raw_xlsx(xml))
    proc, seconds = ingest_cli(warehouse_path, path)
    assert_clean_rejection(warehouse_path, proc)
    assert seconds < 30


def test_a_negative_number_in_a_date_cell_is_rejected_not_a_panic(warehouse_path, tmp_path):
    """Found by the fuzzer: calamine panics (PanicException, not an Exception) on such a cell."""
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    for row in HEADER + [["蕉城区", "2024-01", "evoucher_activation_rate", 1, 2]]:
        ws.append(row)
    ws["B2"] = -1e12
    ws["B2"].number_format = "yyyy-mm-dd"
    path = tmp_path / "date.xlsx"
    wb.save(path)
    proc, _ = ingest_cli(warehouse_path, path)
    assert_clean_rejection(warehouse_path, proc)


# ------------------------------------------------------------------ formula injection

PAYLOADS = ['=HYPERLINK("http://evil.example/","点击查看")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1"]


def _scan(path_or_bytes) -> list[tuple[str, str, object]]:
    """Every cell that Excel would run as a formula: (sheet, cell, value)."""
    from openpyxl import load_workbook
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    wb = load_workbook(io.BytesIO(data))
    bad = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f" or (isinstance(c.value, str) and c.value[:1] in "=+-@\t\r"):
                    bad.append((ws.title, c.coordinate, c.value))
    return bad


def _texts(data: bytes) -> str:
    from openpyxl import load_workbook
    wb = load_workbook(io.BytesIO(data))
    return "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value)


def test_formula_injection_is_neutralised_in_every_export(warehouse_path, tmp_path):
    """Payloads in a 备注, in a region name (maintained by the bureau) and in a file name come
    out as text in the bulletin workbook and in the dashboard's Excel exports."""
    from dashboards.export import frame_to_xlsx
    from pipelines import db
    from pipelines.bulletin import write_bulletin
    from pipelines.returns.ingest import ingest_files
    from pipelines.metrics import Metrics
    from pipelines.catalog.region_sheets import (apply_regions, read_region_workbook,
                                                 write_region_sheet)

    con = db.connect(warehouse_path)
    try:
        # The bureau renames a district through the region sheet (the admin's route).
        sheet = tmp_path / "regions.xlsx"
        write_region_sheet(con, sheet)
        from openpyxl import load_workbook
        wb = load_workbook(sheet)
        ws = wb["地区"]
        for row in ws.iter_rows(min_row=2):
            if row[0].value == "350902":
                row[1].value = PAYLOADS[0]
                row[1].data_type = "s"       # typed as text (a formula would have no cached value)
        wb.save(sheet)
        apply_regions(con, read_region_workbook(sheet), user="admin")
        assert con.execute("SELECT name FROM regions WHERE code = '350902'").fetchall() == [(PAYLOADS[0],)]

        rows = [(*r[:5], PAYLOADS[i % len(PAYLOADS)]) for i, r in enumerate(long_rows(2024))]
        path = write_long_table(tmp_path / "+cmd 宁德市2024年汇总.xlsx", rows)
        out, = ingest_files(con, [path], user="@admin", channel="cli", archive_dir=tmp_path / "raw")
        assert out.status == "accepted", [str(e) for e in out.errors]
        assert con.execute("SELECT count(*) FROM return_values WHERE note = ?", [PAYLOADS[1]]).fetchall()[0][0] > 0

        files = write_bulletin(con, "2024Q4", "350900", out_dir=tmp_path / "bulletin", pdf=False)
        bulletin = Path(files["xlsx"]).read_bytes()
        m = Metrics(con)
        gaps = m.gaps("2024Q4", "350900")
        prov = m.provenance("350902", "evoucher_activation_rate", "2024Q4")
        exports = {"bulletin": bulletin,
                   "gaps": frame_to_xlsx(gaps, {c: c for c in gaps.columns}, sheet="明细", title=PAYLOADS[2]),
                   "provenance": frame_to_xlsx(prov, {c: c for c in prov.columns}, sheet="来源", title="来源")}
    finally:
        con.close()
    for name, data in exports.items():
        assert _scan(data) == [], f"{name}: formula cells left in the export"
    # Not vacuous: the payloads are in the exports, as inert text.
    assert "'" + PAYLOADS[0] in _texts(exports["bulletin"]) + _texts(exports["gaps"])
    assert "'" + PAYLOADS[0] in _texts(exports["gaps"])
    assert "'+cmd 宁德市2024年汇总.xlsx" in _texts(exports["provenance"])
    assert "'@admin" in _texts(exports["provenance"])


def test_helpers_detect_a_formula(tmp_path):
    from openpyxl import Workbook
    wb = Workbook()
    wb.active["A1"] = "=1+1"
    buf = io.BytesIO()
    wb.save(buf)
    assert _scan(buf.getvalue()) == [("Sheet", "A1", "=1+1")]

