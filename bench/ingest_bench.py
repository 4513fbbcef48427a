"""Ingest benchmark figures: a typical return (warm), a 20,000-row long table, 1,000 returns in
one batch — each read by the bounded parse workers as the server reads them (a warm
pipelines.returns.parse_worker.ParsePool). Each figure carries as reference the plain python-calamine
read time of the same files, measured in the same run; the worker's round trip for a typical
return carries the in-process read and extraction of the same file. `run()` returns the
figures; `python -m bench.ingest_bench` prints them.
"""
from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

MONTHLY = ("evoucher_activation_rate", "evoucher_settlement_rate", "on_time_completion_rate")
TODAY = dt.date(2025, 12, 31)


def _calamine_read(paths) -> float:
    from python_calamine import CalamineWorkbook
    t = time.perf_counter()
    for p in paths:
        wb = CalamineWorkbook.from_path(str(p))
        for name in wb.sheet_names:
            wb.get_sheet_by_name(name).to_python()
    return time.perf_counter() - t


def _months(n: int):
    y, m = 2015, 1
    for _ in range(n):
        yield f"{y}-{m:02d}"
        m += 1
        if m > 12:
            y, m = y + 1, 1


def _write_long(path: Path, rows) -> Path:
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("数据")
    ws.append(["地区", "统计期", "指标", "分子", "分母"])
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


def _rows(region, period, seed):
    return [(region, period, ind, 1000 + (seed * 7 + i * 13) % 500, 2000) for i, ind in enumerate(MONTHLY)]


def _round_trip(parser, path: Path) -> tuple[float, float]:
    """(worker round trip, in-process read + extract) of one return, medians in seconds."""
    from pipelines.returns.extract import extract
    from pipelines.returns.workbook import read_workbook
    data = path.read_bytes()
    worker, local = [], []
    for _ in range(15):
        t0 = time.perf_counter()
        parser.extract_return(path.name, data)
        worker.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        extract(read_workbook(data, path.name), path.name)
        local.append(time.perf_counter() - t0)
    return statistics.median(worker), statistics.median(local)


def run() -> list[dict]:
    from pipelines.returns.parse_worker import ParsePool
    with ParsePool() as parser:
        parser.warm_up()
        return _run(parser)


def _run(parser) -> list[dict]:
    from pipelines import db
    from pipelines.returns.ingest import ingest_files
    from pipelines.returns.templates import write_template
    from pipelines.warehouse import init_warehouse

    figures = []
    with tempfile.TemporaryDirectory(prefix="ingest_bench_") as tmp:
        tmp = Path(tmp)
        init_warehouse(tmp / "w.duckdb")
        con = db.connect(tmp / "w.duckdb")
        # The reporting units (regions without children): a parent's own row is not data.
        regions = [c for (c,) in con.execute(
            "SELECT code FROM regions r WHERE NOT EXISTS (SELECT 1 FROM regions c WHERE c.parent_code = r.code) "
            "ORDER BY sort_order").fetchall()]

        # Typical return: a district's monthly template, filled (warm: GX context already built).
        from openpyxl import load_workbook
        typical = []
        for i, period in enumerate(_months(13)):
            t = write_template(con, "350902", period, tmp / f"t{i}.xlsx")
            wb = load_workbook(t)
            ws = wb["填报表"]
            for r in range(6, ws.max_row + 1):
                ws.cell(r, 3).value, ws.cell(r, 4).value = 400000 + i * 100 + r, 500000 + i * 100
            wb.save(t)
            typical.append(t)
        ingest_files(con, typical[:1], archive_dir=tmp / "raw", today=TODAY, parser=parser)      # warm-up
        from pipelines.metrics import figure_table
        figure_table.refresh(con)
        times, refreshes = [], []
        for p in typical[1:]:
            # as the server answers an upload: checked and loaded; the figures refresh follows
            # in the background (dashboards.store.Warehouse.refresh_soon), timed apart here
            t0 = time.perf_counter()
            [out] = ingest_files(con, [p], archive_dir=tmp / "raw", today=TODAY, parser=parser, refresh=False)
            times.append(time.perf_counter() - t0)
            assert out.status == "accepted", out.line()
            t0 = time.perf_counter()
            figure_table.refresh(con)
            refreshes.append(time.perf_counter() - t0)
        ref = _calamine_read(typical[1:]) / len(typical[1:])
        figures.append({"name": "ingest: typical return (template, warm)", "value": round(statistics.median(times) * 1000, 1),
                        "unit": "ms", "budget": 100, "reference_value": round(ref * 1000, 2)})
        figures.append({"name": "ingest: figures refresh after a typical return", "value":
                        round(statistics.median(refreshes) * 1000, 1), "unit": "ms", "budget": None,
                        "reference_value": round(statistics.median(times) * 1000, 1)})
        worker, local = _round_trip(parser, typical[1])
        figures.append({"name": "parse worker: typical return round trip (warm)", "value": round(worker * 1000, 2),
                        "unit": "ms", "budget": None, "reference_value": round(local * 1000, 2)})

        # 20,000-row long table.
        big_rows = []
        for period in _months(120):
            for region in regions:
                big_rows += _rows(region, period, len(big_rows))
                if len(big_rows) >= 20_000:
                    break
            if len(big_rows) >= 20_000:
                break
        big = _write_long(tmp / "big.xlsx", big_rows[:20_000])
        t0 = time.perf_counter()
        [out] = ingest_files(con, [big], archive_dir=tmp / "raw", today=TODAY, parser=parser)
        big_time = time.perf_counter() - t0
        assert out.status == "accepted" and out.rows == 20_000, out.line()[:500]
        figures.append({"name": "ingest: 20,000-row long table", "value": round(big_time, 2), "unit": "s",
                        "budget": None, "reference_value": round(_calamine_read([big]), 3)})

        # 1,000 returns in one batch (a region-month each, 3 indicators).
        files = []
        periods = list(_months(12 * 9))[-12:]
        for i in range(1000):
            region, period = regions[i % len(regions)], periods[(i // len(regions)) % len(periods)]
            files.append(_write_long(tmp / f"r{i}.xlsx", _rows(region, period, i)))
        t0 = time.perf_counter()
        outs = ingest_files(con, files, archive_dir=tmp / "raw", today=TODAY, parser=parser)
        batch_time = time.perf_counter() - t0
        bad = [o.line() for o in outs if o.status != "accepted"]
        assert not bad, bad[:3]
        figures.append({"name": "ingest: 1,000 returns in one batch", "value": round(batch_time, 2), "unit": "s",
                        "budget": 10, "reference_value": round(_calamine_read(files), 3)})
        con.close()
    return figures


if __name__ == "__main__":
    for f in run():
        print(f)
