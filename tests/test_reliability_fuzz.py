"""Fuzzing the extractor through `ingest_files` with mutated workbooks (hypothesis): cells of a valid
template and of a valid long table replaced by hostile values, bytes of the zip truncated or
flipped, the sheet XML inside the zip corrupted. Every outcome must be a clean one — accepted
whole, or rejected with Chinese errors and nothing loaded — never an exception, a hang, or a
partial load."""
from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import signal
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_reliability_kit import long_rows, write_long_table

CJK = re.compile(r"[\u4e00-\u9fff]")
PER_FILE_SECONDS = 30
FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
SOAK = settings(max_examples=500, deadline=None, database=None, suppress_health_check=list(HealthCheck))
COUNTS = {"cells": 0, "bytes": 0, "xml": 0}


@contextmanager
def time_limit(seconds: int):
    def hang(signum, frame):
        raise TimeoutError(f"ingest hung for more than {seconds} s")
    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory, _initialised_template):
    """One warehouse for the module (outcomes accumulate like a real server's), and the seeds."""
    from pipelines import db
    from pipelines.returns.templates import write_template
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / "warehouse.duckdb"
    shutil.copy(_initialised_template, path)
    con = db.connect(path)
    template = fill_template(con, write_template(con, "350902", "2024Q2", tmp / "template.xlsx"))
    long_table = write_long_table(tmp / "long.xlsx", long_rows(2024, districts=["350902", "350981"],
                                                                months=range(4, 7)))
    yield {"con": con, "tmp": tmp, "template": template[0], "template_rows": template[1],
           "long": long_table.read_bytes()}
    con.close()


def fill_template(con, path: Path) -> tuple[bytes, int]:
    """The generated template with plausible values typed in, as a district would."""
    from openpyxl import load_workbook
    kinds = dict(con.execute("SELECT code, kind FROM indicators").fetchall())
    wb = load_workbook(path)
    ws = next(s for s in wb.worksheets if s.sheet_state == "visible")
    header = next(r for r in ws.iter_rows() if any(c.value == "分子" for c in r))
    col = {c.value: c.column for c in header if c.value}
    filled = 0
    for r in range(header[0].row + 1, ws.max_row + 1):
        code = ws.cell(row=r, column=col["指标编码"]).value
        if code not in kinds:
            continue
        ws.cell(row=r, column=col["分子"]).value = 3 if kinds[code] == "count" else 45
        if kinds[code] != "count":
            ws.cell(row=r, column=col["分母"]).value = 60
        filled += 1
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), filled


def ingest_bytes(env, name: str, data: bytes):
    """Ingest one file and check that its outcome is clean; returns the outcome."""
    from pipelines.returns.ingest import ingest_files
    con = env["con"]
    with time_limit(PER_FILE_SECONDS):
        outcome, = ingest_files(con, [(name, data)], user="fuzz", channel="cli", archive_dir=env["tmp"] / "raw")
    assert outcome.status in ("accepted", "rejected", "duplicate")
    if outcome.status == "rejected":
        assert outcome.errors, "a rejection must say why"
        for e in outcome.errors:
            assert CJK.search(str(e)), f"error not in Chinese: {e}"
        if outcome.submission_id is not None:
            held = con.execute("SELECT count(*) FROM return_values WHERE submission_id = ?",
                               [outcome.submission_id]).fetchall()[0][0]
            assert held == 0, "a rejected file left values behind"
    elif outcome.status == "accepted":
        held = con.execute("SELECT count(*) FROM return_values WHERE submission_id = ?",
                           [outcome.submission_id]).fetchall()[0][0]
        assert held == outcome.new + outcome.revisions
        assert outcome.rows == outcome.new + outcome.revisions + outcome.unchanged
    return outcome


# ------------------------------------------------------------------ cell mutations

HOSTILE_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "#N/A", "#DIV/0!", "=1/0", "=SUM(A1:A9)", "+1+1", "@x", "1,2,3", "１２３",
                     "12 345", "-5", "1e308", "NaN", "inf", "2024.1", "2024年13月", "二〇二四年", "null",
                     "'", '"', "<b>", "&amp;", "\u202e", "蕉城区 ", "350902", "99999999", "0x10", "—", "合计"]),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    st.none(),
)


def mutate_cells(data: bytes, edits: list[tuple[int, int, object]]) -> bytes | None:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import IllegalCharacterError
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    for r, c, value in edits:
        cell = ws.cell(row=r, column=c)
        if type(cell).__name__ == "MergedCell":   # covered by a merge: Excel would not let one type here
            continue
        try:
            cell.value = value
        except (IllegalCharacterError, ValueError, TypeError):
            return None
    buf = io.BytesIO()
    try:
        wb.save(buf)
    except (IllegalCharacterError, ValueError, TypeError, OverflowError):
        return None
    return buf.getvalue()


EDITS = st.lists(st.tuples(st.integers(1, 14), st.integers(1, 8), HOSTILE_VALUES), min_size=1, max_size=6)


def _run_cell_fuzz(env, layout: str, edits):
    data = mutate_cells(env[layout], edits)
    if data is None:
        return
    COUNTS["cells"] += 1
    ingest_bytes(env, f"{layout}.xlsx", data)


@FUZZ
@given(edits=EDITS, layout=st.sampled_from(["template", "long"]))
def test_mutated_cells_are_accepted_whole_or_rejected_cleanly(fuzz_env, edits, layout):
    _run_cell_fuzz(fuzz_env, layout, edits)


# ------------------------------------------------------------------ byte mutations

@st.composite
def byte_mutations(draw):
    kind = draw(st.sampled_from(["truncate", "flip", "splice"]))
    return kind, draw(st.integers(0, 10**9)), draw(st.integers(1, 16)), draw(st.binary(min_size=1, max_size=64))


def mutate_bytes(data: bytes, kind: str, pos: int, n: int, junk: bytes) -> bytes:
    pos %= len(data)
    if kind == "truncate":
        return data[:pos]
    if kind == "flip":
        out = bytearray(data)
        for k in range(n):
            out[(pos + k * 97) % len(out)] ^= 0xFF
        return bytes(out)
    return data[:pos] + junk + data[pos + n:]


@FUZZ
@given(m=byte_mutations(), layout=st.sampled_from(["template", "long"]))
def test_damaged_zips_are_rejected_cleanly(fuzz_env, m, layout):
    COUNTS["bytes"] += 1
    out = ingest_bytes(fuzz_env, f"{layout}.xlsx", mutate_bytes(fuzz_env[layout], *m))
    if m[0] == "truncate":
        assert out.status == "rejected"


def mutate_sheet_xml(data: bytes, kind: str, pos: int, n: int, junk: bytes) -> bytes:
    """Corrupt the first worksheet's XML inside an otherwise valid zip."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            part = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                part = mutate_bytes(part, kind, pos, n, junk)
            dst.writestr(info.filename, part)
    return buf.getvalue()


@FUZZ
@given(m=byte_mutations(), layout=st.sampled_from(["template", "long"]))
def test_corrupt_sheet_xml_is_handled_cleanly(fuzz_env, m, layout):
    COUNTS["xml"] += 1
    ingest_bytes(fuzz_env, f"{layout}.xlsx", mutate_sheet_xml(fuzz_env[layout], *m))


def test_the_unmutated_seeds_are_accepted(fuzz_env):
    """The fuzz seeds are valid returns: what the mutations break is real."""
    long_out = ingest_bytes(fuzz_env, "long.xlsx", fuzz_env["long"])
    assert long_out.status in ("accepted", "duplicate") and long_out.rows == 2 * (3 * 3 + 1 * 4)
    tmpl_out = ingest_bytes(fuzz_env, "template.xlsx", fuzz_env["template"])
    assert tmpl_out.status in ("accepted", "duplicate") and tmpl_out.rows == fuzz_env["template_rows"]


def test_fuzz_counts_are_reported(artifacts_dir):
    import json
    (artifacts_dir / "reliability_fuzz.json").write_text(json.dumps(COUNTS))
    print(f"\nfuzzed files: {COUNTS}")


@pytest.mark.soak
@SOAK
@given(edits=EDITS, layout=st.sampled_from(["template", "long"]), m=byte_mutations())
def test_fuzz_soak(fuzz_env, edits, layout, m):
    _run_cell_fuzz(fuzz_env, layout, edits)
    ingest_bytes(fuzz_env, f"{layout}.xlsx", mutate_bytes(fuzz_env[layout], *m))
    ingest_bytes(fuzz_env, f"{layout}.xlsx", mutate_sheet_xml(fuzz_env[layout], *m))

