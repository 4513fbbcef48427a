"""No upload can take the server down: the hostile files of issue 12 through the command line and
through a real server's upload API (`python app.py`, waitress, POST /api/returns), and a
hypothesis fuzz run against the parse workers with the server up.

Each hostile kind — a Strict workbook with one value at XFD1048576, a last row of 16,384 cells
without `r=`, 8 sheets each with a value at GR100000, a CPU bomb (millions of empty cells), a
memory bomb (millions of shared strings) — is answered with a Chinese rejection and leaves
nothing; each valid variant — backslash zip paths, xl/WorkBook.xml, a root-level or otherwise
named workbook part, macro and dialog sheets — is loaded. The server answers every request,
stays under SERVER_RSS_MB, and a small upload sent while a worker is busy with a bomb is
answered within SMALL_UPLOAD_S.

The server runs with a 512 MB worker memory limit, 4 s of CPU and 8 s of wall time per file
(YBJC_PARSE_*), so that both bombs end their worker quickly; the defaults are 1 GiB, 20 s, 30 s.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ooxml_factory as f
from bench.run import rss_kb, serve_app
from test_reliability_fuzz import EDITS, byte_mutations, mutate_bytes, mutate_cells, mutate_sheet_xml
from test_reliability_kit import invariants

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")
PASSWORD = "Worker-Test-Pass-1"
WORKER_ENV = {"YBJC_PARSE_MEMORY_MB": "512", "YBJC_PARSE_CPU_S": "4", "YBJC_PARSE_TIMEOUT_S": "8"}
SERVER_RSS_MB = 450           # peak RSS (VmHWM) of the server process itself; workers are bounded apart
SMALL_UPLOAD_S = 2.0
FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
SOAK = settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def _row(month: int) -> list:
    return ["蕉城区", f"2024-{month:02d}", "evoucher_activation_rate", 40 + month, 100]


def _valid(month: int, package: f.Package, extra: list[f.SheetSpec] = ()) -> bytes:
    body = f.long_table_body([_row(month)], prefix=package.prefix)
    return f.xlsx([f.SheetSpec("数据", body), *extra], package)


def valid_variants() -> dict[str, bytes]:
    """Valid workbooks the old checks misdiagnosed; each holds one row of its own month."""
    return {
        "strict.xlsx": _valid(1, f.Package(strict=True)),
        "backslash.xlsx": _valid(2, f.Package(separator="\\")),
        "WorkBook.xlsx": _valid(3, f.Package(workbook_part="xl/WorkBook.xml")),
        "root.xlsx": _valid(4, f.Package(workbook_part="workbook.xml")),
        "book-part.xlsx": _valid(5, f.Package(workbook_part="xl/book.xml")),
        "prefixed.xlsx": _valid(6, f.Package(prefix="x:")),
        "macro.xlsm": _valid(7, f.Package(), [f.SheetSpec("Macro1", f.rows_xml([["=HALT()"]]), kind="macrosheet")]),
        "dialog.xlsm": _valid(8, f.Package(), [f.SheetSpec("Dialog1", "", kind="dialogsheet")]),
    }


def hostile_files() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, words the rejection must contain)."""
    return {
        "strict_far_cell.xlsx": (f.far_cell(strict=True), "工作表有 1048576 行，超过上限 100000 行"),
        "cells_without_r.xlsx": (f.cells_without_refs(16_384), "工作表有 1048576 行"),
        "eight_sheets.xlsx": (f.many_far_sheets(8, "GR100000"), "合计 160,000,000 个单元格"),
        "cpu_bomb.xlsx": (f.empty_cells_bomb(120), "文件过大或结构异常，无法在限定资源内读取"),
        "memory_bomb.xlsx": (f.shared_strings_bomb(11_000_000), "文件过大或结构异常，无法在限定资源内读取"),
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("worker_files")
    hostile = hostile_files()
    for name, (data, _) in hostile.items():
        (tmp / name).write_bytes(data)
    valid = valid_variants()
    for name, data in valid.items():
        (tmp / name).write_bytes(data)
    return {"dir": tmp, "hostile": hostile, "valid": valid}


def _cli(db: Path, *args, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines", *args, "--db", str(db)], input=stdin,
                          capture_output=True, text=True, timeout=300, cwd=db.parent,
                          env={**os.environ, "GX_ANALYTICS_ENABLED": "false", **(env or {})})


def _values(db: Path) -> tuple[int, list]:
    import duckdb
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (con.execute("SELECT count(*) FROM return_values").fetchone()[0],
                con.execute("SELECT file_name, status FROM submissions ORDER BY submission_id").fetchall())
    finally:
        con.close()


def test_hostile_files_through_the_cli(warehouse_path, files):
    paths = [str(files["dir"] / name) for name in files["hostile"]]
    proc = _cli(warehouse_path, "ingest", *paths, env=WORKER_ENV)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "panicked" not in proc.stderr, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("退回 ")]
    assert len(lines) == len(files["hostile"]), proc.stderr[-2000:]
    for (name, (_, words)), line in zip(files["hostile"].items(), lines):
        assert line.startswith(f"退回 {name}：1 个错误") and words in line, line
    held, subs = _values(warehouse_path)
    assert held == 0 and subs == [(name, "rejected") for name in files["hostile"]]


def test_valid_variants_through_the_cli(warehouse_path, files):
    paths = [str(files["dir"] / name) for name in files["valid"]]
    proc = _cli(warehouse_path, "ingest", *paths)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert [line.split("：")[0] for line in lines] == [f"已接收 {name}" for name in files["valid"]]
    assert all("1 行（新增 1，更正 0，未变 0）" in line for line in lines), lines
    held, subs = _values(warehouse_path)
    assert held == 8 and {s for _, s in subs} == {"accepted"}


# ------------------------------------------------------------------ the real server

@pytest.fixture(scope="module")
def server(tmp_path_factory, _initialised_template):
    import shutil
    db = tmp_path_factory.mktemp("worker_server") / "warehouse.duckdb"
    shutil.copy(_initialised_template, db)
    assert _cli(db, "users", "add", "--name", "admin", "--role", "admin", stdin=PASSWORD + "\n").returncode == 0
    token = _cli(db, "users", "token", "--name", "admin").stdout.strip().splitlines()[-1].strip()
    with serve_app(db, threads=8, env=WORKER_ENV) as (proc, base, _):
        yield {"db": db, "proc": proc, "base": base, "token": token, "answers": []}
        server_alive = proc.poll() is None
    assert server_alive, "the server died"
    invariants(db)                          # stopped: the warehouse opens, nothing half-written


def post(server, name: str, data: bytes, timeout: float = 120) -> tuple[int, dict, float]:
    t0 = time.perf_counter()
    resp = requests.post(server["base"] + "/api/returns", headers={"Authorization": f"Bearer {server['token']}"},
                         files={"file": (name, data)}, timeout=timeout)
    took = time.perf_counter() - t0
    body = resp.json()
    server["answers"].append((name, resp.status_code, round(took, 3)))
    return resp.status_code, body, took


def test_hostile_files_through_the_server(server, files, artifacts_dir):
    """Every hostile upload answered (422, Chinese); a small upload sent while a worker chews
    on the CPU bomb answered within SMALL_UPLOAD_S; the valid variants loaded; RSS bounded."""
    for name, (data, words) in files["hostile"].items():
        if name == "cpu_bomb.xlsx":
            continue
        status, body, _ = post(server, name, data)
        assert status == 422 and body["status"] == "rejected", (name, status, body)
        assert len(body["errors"]) == 1 and words in body["errors"][0], (name, body["errors"])
    status, body, idle_took = post(server, "warm.xlsx", _valid(12, f.Package()))    # GX imported, suites built
    assert status == 200 and body["new"] == 1, body
    with cf.ThreadPoolExecutor(2) as pool:
        bomb = pool.submit(post, server, "cpu_bomb.xlsx", files["hostile"]["cpu_bomb.xlsx"][0])
        time.sleep(0.5)                                       # the bomb is in a worker now
        small = [post(server, f"small_{k}.xlsx", _valid(9 + k, f.Package())) for k in range(2)]
        status, body, bomb_took = bomb.result(timeout=120)
    assert status == 422 and "文件过大或结构异常，无法在限定资源内读取" in body["errors"][0], body
    assert "CPU" in body["errors"][0] or "秒" in body["errors"][0]
    for s_status, s_body, took in small:
        assert s_status == 200 and s_body["status"] == "accepted" and s_body["new"] == 1, s_body
        assert took < SMALL_UPLOAD_S, f"a small upload waited {took:.2f} s beside the bomb"
    for name, data in files["valid"].items():
        status, body, _ = post(server, name, data)
        assert status == 200 and body["rows"] == 1 and body["new"] == 1, (name, body)
    peak_mb = rss_kb(server["proc"].pid, "VmHWM") / 1024
    tally = {"server_peak_rss_mb": round(peak_mb, 1), "bound_mb": SERVER_RSS_MB,
             "small_upload_idle_s": round(idle_took, 3),
             "small_upload_beside_bomb_s": [round(t, 3) for *_, t in small], "bomb_s": round(bomb_took, 2),
             "answers": server["answers"][:]}
    (artifacts_dir / "reliability_worker.json").write_text(json.dumps(tally, ensure_ascii=False, indent=1))
    print(f"\nworker acceptance: {tally}")
    assert peak_mb < SERVER_RSS_MB, tally
    assert server["proc"].poll() is None


# ------------------------------------------------------------------ fuzz, the server up

@st.composite
def ooxml_shapes(draw) -> tuple[str, bytes]:
    """Structural variations of a return: namespaces, prefixes, separators, part names, refs on
    or off, far cells, extra sheets of every kind, DOCTYPEs."""
    pkg = f.Package(strict=draw(st.booleans()), prefix=draw(st.sampled_from(["", "x:"])),
                    separator=draw(st.sampled_from(["/", "\\"])),
                    workbook_part=draw(st.sampled_from(["xl/workbook.xml", "xl/WorkBook.xml", "workbook.xml",
                                                        "xl/book.xml", "a/b/workbook.xml"])),
                    absolute_targets=draw(st.booleans()))
    rows = [_row(m) for m in draw(st.lists(st.integers(1, 12), min_size=1, max_size=4, unique=True))]
    body = f.long_table_body(rows, with_refs=draw(st.booleans()), prefix=pkg.prefix)
    if draw(st.booleans()):
        row = draw(st.integers(1, 1_048_576))
        col = f.col_letters(draw(st.integers(1, 16_384)))
        p = pkg.prefix
        body += f'<{p}row r="{row + len(rows) + 1}"><{p}c r="{col}{row + len(rows) + 1}"><{p}v>1</{p}v></{p}c></{p}row>'
    extra = [f.SheetSpec(f"S{i}", f.rows_xml([["x"]], prefix=pkg.prefix), kind=kind)
             for i, kind in enumerate(draw(st.lists(st.sampled_from(["worksheet", "macrosheet", "dialogsheet",
                                                                     "chartsheet"]), max_size=3)))]
    data = f.xlsx([f.SheetSpec("数据", body), *extra], pkg)
    if draw(st.integers(0, 9)) == 0:
        data = f.rewrite(data, lambda name, c: c.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "b">]>', 1)
                         if name.endswith(".xml") else c)
    return draw(st.sampled_from(["a.xlsx", "a.xlsm", "a.XLSX", "a.ods"])), data


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict:
    from test_reliability_kit import long_rows, write_long_table
    tmp = tmp_path_factory.mktemp("worker_fuzz")
    path = write_long_table(tmp / "long.xlsx", long_rows(2023, districts=["350902"], months=range(1, 4)))
    return {"long": path.read_bytes()}


def _answered(server, name: str, data: bytes) -> None:
    status, body, _ = post(server, name, data, timeout=60)
    assert status in (200, 403, 422), (status, body)
    assert body["status"] in ("accepted", "rejected", "denied")
    if body["status"] == "rejected":
        assert body["errors"] and all(CJK.search(e) for e in body["errors"]), body


@FUZZ
@given(shape=ooxml_shapes())
def test_fuzz_structures_with_the_server_up(server, shape):
    _answered(server, *shape)


@FUZZ
@given(edits=EDITS, m=byte_mutations())
def test_fuzz_cells_bytes_and_xml_with_the_server_up(server, seeds, edits, m):
    cells = mutate_cells(seeds["long"], edits)
    if cells is not None:
        _answered(server, "cells.xlsx", cells)
    _answered(server, "bytes.xlsx", mutate_bytes(seeds["long"], *m))
    _answered(server, "xml.xlsx", mutate_sheet_xml(seeds["long"], *m))


def test_every_fuzzed_request_was_answered(server, artifacts_dir):
    answers = server["answers"]
    assert len(answers) >= 60 and all(status in (200, 403, 422) for _, status, _ in answers)
    assert server["proc"].poll() is None
    (artifacts_dir / "reliability_worker_fuzz.json").write_text(json.dumps(
        {"requests": len(answers), "by_status": {s: sum(1 for _, x, _ in answers if x == s) for s in (200, 403, 422)},
         "slowest_s": max(t for *_, t in answers)}, indent=1))


@pytest.mark.soak
@SOAK
@given(shape=ooxml_shapes(), edits=EDITS, m=byte_mutations())
def test_fuzz_soak_with_the_server_up(server, seeds, shape, edits, m):
    _answered(server, *shape)
    cells = mutate_cells(seeds["long"], edits)
    if cells is not None:
        _answered(server, "cells.xlsx", cells)
    _answered(server, "xml.xlsx", mutate_sheet_xml(seeds["long"], *m))


def test_the_server_stops_its_workers_when_it_stops(tmp_path, _initialised_template):
    """SIGTERM: the server closes its pool; no parse worker outlives it."""
    import shutil
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(_initialised_template, db)
    with serve_app(db) as (proc, base, _):
        deadline = time.monotonic() + 20
        workers: list[int] = []
        while time.monotonic() < deadline and len(workers) < 2:
            workers = _parse_workers(proc.pid)
            time.sleep(0.1)
        assert len(workers) == 2, "the server warms two parse workers at start"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and [p for p in workers if Path(f"/proc/{p}").exists()
                                           and "\nState:\tZ" not in Path(f"/proc/{p}/status").read_text()]:
        time.sleep(0.1)
    assert not [p for p in workers if Path(f"/proc/{p}").exists()
                and "\nState:\tZ" not in Path(f"/proc/{p}/status").read_text()]


def _parse_workers(server_pid: int) -> list[int]:
    """Pids of the processes below the server (fork server and its children) running serve()."""
    out = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(re.search(r"PPid:\s+(\d+)", text).group(1))
        try:
            grand = int(re.search(r"PPid:\s+(\d+)", Path(f"/proc/{ppid}/status").read_text()).group(1))
        except OSError:
            continue
        if grand == server_pid and b"forkserver" in cmdline:
            out.append(int(status.parent.name))
    return out

