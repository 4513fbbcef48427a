"""Bulletin speed: the three files (Word, Excel, PDF) for one jurisdiction and quarter.

`run(db_path)` works on a copy of the warehouse (the export writes its audit line), picks 温岭市
(331081: 16 镇（街道）, 12 indicators) when the warehouse has it, else the first jurisdiction, and
its latest closed quarter with data, and times `write_bulletin` cold (first in this process:
imports, font loading) and warm. Reference values: LibreOffice's conversion of the same .docx
alone, and the Metrics calls alone; also the bulletin with the one-page notices of every unit
(--per-region, all PDFs from the same LibreOffice start). Budget: 10 s for the three files.
"""
from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

BUDGET_S = 10.0


def _figure(name, value, unit, budget=None, reference_value=None) -> dict:
    return {"name": name, "value": None if value is None else round(float(value), 4), "unit": unit,
            "budget": budget,
            "reference_value": None if reference_value is None else round(float(reference_value), 4)}


def _cpu() -> float:
    """CPU seconds used by this process and its finished children (LibreOffice)."""
    import resource
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _ended(code: str, today: dt.date) -> bool:
    """The quarter has ended (a bulletin is refused for a quarter still running)."""
    y, q = int(code[:4]), int(code[-1])
    return dt.date(y + (q == 4), (3 * q) % 12 + 1, 1) <= today


def run(db_path) -> list[dict]:
    from pipelines import db
    from pipelines.bulletin import write_bulletin
    from pipelines.bulletin.collect import collect
    from pipelines.bulletin.pdf import find_office, to_pdf
    from pipelines.metrics import Metrics
    tmp = Path(tempfile.mkdtemp(prefix="bulletin_bench_"))
    try:
        copy = tmp / "warehouse.duckdb"
        shutil.copy(db_path, copy)
        con = db.connect(copy)
        try:
            m = Metrics(con)
            codes = list(m.jurisdictions()["code"])
            jur = "331081" if "331081" in codes else str(codes[0])
            today = dt.date.today()
            quarters = [q for q in m.periods(jur, "Q") if _ended(q, today)]
            if not quarters:
                raise RuntimeError(f"数据仓库 {db_path} 中 {jur} 没有季度数据，无法测量通报生成时间")
            q = quarters[-1]
            timings, cpu = [], []
            for i in range(2):
                start, cpu0 = time.perf_counter(), _cpu()
                paths = write_bulletin(con, q, region=jur, out_dir=tmp / f"run{i}", user="bench")
                timings.append(time.perf_counter() - start)
                cpu.append(_cpu() - cpu0)
            start = time.perf_counter()
            collect(m, q, jur)
            metrics_s = time.perf_counter() - start
            start = time.perf_counter()
            write_bulletin(con, q, region=jur, out_dir=tmp / "nopdf", user="bench", pdf=False)
            word_excel_s = time.perf_counter() - start
            start = time.perf_counter()
            write_bulletin(con, q, region=jur, out_dir=tmp / "notices", user="bench", per_region=True)
            notices_s = time.perf_counter() - start
        finally:
            con.close()
        office_s = None
        if find_office() is not None and paths.get("docx") is not None:
            alone = tmp / "alone"
            alone.mkdir()
            start = time.perf_counter()
            to_pdf(paths["docx"], alone)
            office_s = time.perf_counter() - start
        return [
            _figure("bulletin.three_files_cold", timings[0], "s", BUDGET_S, office_s),
            _figure("bulletin.three_files_warm", timings[1], "s", BUDGET_S, office_s),
            _figure("bulletin.word_excel_only", word_excel_s, "s", None, metrics_s),
            _figure("bulletin.with_per_region_notices", notices_s, "s", None, None),
            # CPU seconds (this process + LibreOffice): what the wall time is on an idle machine
            _figure("bulletin.three_files_warm_cpu", cpu[1], "s", None, None),
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    import json
    import sys
    print(json.dumps(run(sys.argv[1]), ensure_ascii=False, indent=1))
