"""The bounded parse workers: real child processes reading real workbooks.

What comes back is exactly what the extractor makes in-process (its dataclasses, pickled); a
worker that runs out of memory, CPU time or wall time is killed and replaced, its file answered
with the Chinese "文件过大或结构异常" message, the next file read as usual; a worker holds no
handle on the warehouse and may write no file."""
from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path

import pytest

import ooxml_factory as f
import returns_factory as rf
from pipelines.returns.extract import extract
from pipelines.returns.parse_worker import TOO_BIG, ParseLimits, ParsePool, RegionIndex
from pipelines.returns.templates import write_template
from pipelines.returns.validate import CatalogView
from pipelines.returns.workbook import WorkbookError, read_workbook

SMALL = f.xlsx([f.SheetSpec("数据", f.long_table_body([["蕉城区", "2024-01", "evoucher_activation_rate", 1, 2]]))])


def wait_for(pool: ParsePool, n: int, seconds: float = 20) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pids = pool.worker_pids()
        if len(pids) >= n:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"{n} warm workers did not start in {seconds} s: {pool.worker_pids()}")


def gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return True
        if "\nState:\tZ" in state:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def cpu_bomb() -> bytes:
    return f.empty_cells_bomb(40)          # ~10 million empty cells: seconds of scanning


def test_extractions_come_back_exactly_as_the_extractor_makes_them(con, tmp_path):
    """Rows (with numerator_from_value and bad cells), 合计 totals, errors, warnings, layout."""
    messy = rf.messy_long_table(tmp_path / "messy.xlsx").read_bytes()
    bad = rf.long_table(tmp_path / "bad.xlsx", [("蕉城区", dt.datetime(2024, 3, 15), "医保电子凭证激活率", 1, 2),
                                                ("福安市", "2024-03", "医保电子凭证激活率", "12a", 100)]).read_bytes()
    template = write_template(con, "350902", "2024-03", tmp_path / "t.xlsx")

    def by_name(wb):                        # the code cell emptied: the name alone says the region
        wb["填报表"]["D2"] = None
    named = rf.fill_template(template, tmp_path / "named.xlsx", {"evoucher_activation_rate": (1, 2)},
                             edit=by_name).read_bytes()
    cat = CatalogView.load(con)
    with ParsePool() as pool:
        regions = RegionIndex(cat.region_by_key)
        for name, data in (("messy.xlsx", messy), ("bad.xlsx", bad), ("named.xlsx", named)):
            got = pool.extract_return(name, data, regions)
            assert got == extract(read_workbook(data, name), name, cat.region), name
            if name == "messy.xlsx":
                assert got.totals and got.totals[0].region == "合计"
                assert any(r.numerator_from_value for r in got.rows) and len(got.rows) == 8
            if name == "bad.xlsx":
                assert got.rows[0].period == dt.date(2024, 3, 15)      # as the reader gives it
                assert got.rows[1].bad_cells == {"D3"} and got.errors[0].cell == "D3"
            if name == "named.xlsx":        # the region index reached the worker: 蕉城区 is 350902
                assert got.errors == [] and got.rows[0].region == "350902"


def test_a_refusal_keeps_its_sheet_and_cell():
    styles = ('<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs></styleSheet>').encode()
    body = f.rows_xml([f.HEADER]) + '<row r="2"><c r="B2" s="1"><v>-1e12</v></c></row>'
    data = f.with_styles(f.xlsx([f.SheetSpec("数据", body)]), styles)
    with ParsePool() as pool, pytest.raises(WorkbookError) as err:
        pool.extract_return("d.xlsx", data)
    assert (err.value.sheet, err.value.cell) == ("数据", "B2") and "不是有效日期" in str(err.value)


def test_a_worker_out_of_memory_is_replaced_and_the_next_file_is_read():
    """Six million shared strings need more than 256 MB: the reader aborts — in the worker."""
    with ParsePool(ParseLimits(memory_mb=256, workers=1, max_workers=1)) as pool:
        pool.warm_up()
        [first] = wait_for(pool, 1)
        with pytest.raises(WorkbookError) as err:
            pool.extract_return("sst.xlsx", f.shared_strings_bomb())
        assert str(err.value).startswith(TOO_BIG) and "256 MB" in str(err.value)
        assert gone(first) and pool.failures == 1
        assert len(pool.extract_return("small.xlsx", SMALL).rows) == 1
        assert wait_for(pool, 1) != [first]


def test_a_worker_past_its_wall_time_is_killed(cpu_bomb):
    with ParsePool(ParseLimits(wall_seconds=0.5, workers=1, max_workers=1)) as pool:
        pool.warm_up()
        [first] = wait_for(pool, 1)
        t0 = time.perf_counter()
        with pytest.raises(WorkbookError) as err:
            pool.extract_return("slow.xlsx", cpu_bomb)
        assert time.perf_counter() - t0 < 8
        assert "读取超过 0.5 秒，已终止" in str(err.value) and gone(first)
        assert len(pool.extract_return("small.xlsx", SMALL).rows) == 1


def test_a_worker_past_its_cpu_time_is_stopped_by_the_kernel(cpu_bomb):
    with ParsePool(ParseLimits(cpu_seconds=1, wall_seconds=60, workers=1, max_workers=1)) as pool:
        with pytest.raises(WorkbookError) as err:
            pool.extract_return("slow.xlsx", cpu_bomb)
        assert "超过 1 秒 CPU 时间上限" in str(err.value)
        assert len(pool.extract_return("small.xlsx", SMALL).rows) == 1


def test_a_small_file_is_answered_while_a_worker_is_stuck(cpu_bomb):
    with ParsePool(ParseLimits(wall_seconds=6, workers=2)) as pool:
        pool.warm_up()
        wait_for(pool, 2)
        slow: dict = {}
        t = threading.Thread(target=lambda: slow.update(out=pool.extract_many([("slow.xlsx", cpu_bomb)])))
        t.start()
        time.sleep(0.3)
        t0 = time.perf_counter()
        assert len(pool.extract_return("small.xlsx", SMALL).rows) == 1
        assert time.perf_counter() - t0 < 2
        t.join(30)
        assert isinstance(slow["out"][0], WorkbookError) and TOO_BIG in str(slow["out"][0])


def test_a_worker_holds_nothing_of_the_warehouse_and_may_write_no_file(con, warehouse_path):
    con.execute("SELECT count(*) FROM regions").fetchall()         # this process has it open
    limits = ParseLimits(memory_mb=512)
    with ParsePool(limits) as pool:
        pool.extract_return("small.xlsx", SMALL)
        for pid in wait_for(pool, 1):
            fds = [os.readlink(p) for p in Path(f"/proc/{pid}/fd").iterdir()]
            assert fds and not [d for d in fds if "duckdb" in d or str(warehouse_path.parent) in d], fds
            lim = {line[:26].strip(): line[26:].split() for line in Path(f"/proc/{pid}/limits").read_text().splitlines()}
            assert lim["Max file size"][:2] == ["0", "0"]
            assert lim["Max address space"][:2] == [str(512 * 1024 * 1024)] * 2
            assert lim["Max core file size"][:2] == ["0", "0"]


def test_workers_are_recycled_after_their_jobs_and_stopped_on_close():
    with ParsePool(ParseLimits(workers=1, max_workers=1, max_jobs=2)) as pool:
        pool.extract_return("a.xlsx", SMALL)
        [first] = wait_for(pool, 1)
        pool.extract_return("b.xlsx", SMALL)         # its second file: then it is replaced
        assert gone(first)
        [second] = wait_for(pool, 1)
        assert second != first
    assert gone(second)
    with pytest.raises(RuntimeError, match="已关闭"):
        pool.extract_return("c.xlsx", SMALL)


def test_many_files_are_read_in_parallel_in_order():
    files = [(f"r{i}.xlsx", f.xlsx([f.SheetSpec("数据", f.long_table_body(
        [["蕉城区", f"2024-{m:02d}", "evoucher_activation_rate", i, 100] for m in range(1, i + 2)]))]))
        for i in range(6)] + [("bad.xlsx", f.far_cell())]
    with ParsePool(ParseLimits(workers=2)) as pool:
        out = pool.extract_many(files)
    assert [len(x.rows) for x in out[:6]] == [1, 2, 3, 4, 5, 6]
    assert [r.numerator for r in out[3].rows] == [3.0] * 4
    assert isinstance(out[6], WorkbookError) and "1048576 行" in str(out[6])


def test_what_comes_back_is_bounded_too():
    """A return's rows and an admin sheet's cells, beyond the pool's limits, are refused."""
    rows = [["蕉城区", f"2024-{m:02d}", "evoucher_activation_rate", m, 100] for m in range(1, 13)]
    data = f.xlsx([f.SheetSpec("数据", f.long_table_body(rows))])
    with ParsePool(ParseLimits(max_rows=11, max_sheet_cells=60)) as pool:
        with pytest.raises(WorkbookError, match="共有 12 行数据，超过一次报送的上限 11 行"):
            pool.extract_return("a.xlsx", data)
        with pytest.raises(WorkbookError, match="合计 65 个单元格"):      # 13 rows × 5 columns
            pool.read_sheets("a.xlsx", data)
    with ParsePool(ParseLimits(max_rows=12, max_sheet_cells=65)) as pool:
        assert len(pool.extract_return("a.xlsx", data).rows) == 12
        assert len(pool.read_sheets("a.xlsx", data).sheets[0].rows) == 13
