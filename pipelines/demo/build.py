"""`python -m pipelines demo`: realistic synthetic returns (示例数据), written and ingested.

The numbers come from demo_values (deterministic, target-aware), the upload history from
demo_schedule. Each upload becomes a real .xlsx under `<db dir>/raw/demo/` — a filled return
template (pipelines.returns.templates) or a compiled long table, some of them a little messy — and goes
through pipelines.returns.ingest.ingest_files, the path every user's file takes, with the upload's own
time. Everything is marked 示例数据: file names, workbook titles, channel 'demo', user 示例数据.
Files are byte-for-byte reproducible (fixed zip and document timestamps), so running the demo
twice loads nothing new.
"""
from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import re
import shutil
import tempfile
import time
import zipfile
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from pipelines.demo.schedule import Upload, plan_uploads
from pipelines.returns.extract import META_SHEET
from pipelines.demo.values import DemoModel, DemoValue, generate, rng_for

DEMO_USER = "示例数据"
DEMO_CHANNEL = "demo"
MARK = "示例数据"
SHEET_OF_FREQUENCY = {"月度": "月报指标", "季度": "季报指标", "年度": "年报指标"}
CHUNK = 20          # uploads per ingest_files call (one GX run each)
_CORE_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


class DemoError(RuntimeError):
    """The demo could not be built; Chinese message."""


def build_demo(db_path, raw_dir=None, if_empty: bool = False, workers: int = 2) -> dict:
    """Write the demo returns and ingest them. Returns statistics (counts and timings).

    Workbooks are written by `workers` processes (reading a snapshot of the catalog) while this
    process ingests them in chronological order, CHUNK uploads per ingest_files call.
    """
    from pipelines import db
    from pipelines.warehouse import init_warehouse

    started = time.perf_counter()
    db_path = Path(db_path)
    raw_dir = Path(raw_dir) if raw_dir else db_path.parent / "raw" / "demo"
    init_warehouse(db_path)
    con = db.connect(db_path)
    try:
        held = con.execute("SELECT count(*) FROM return_values").fetchone()[0]
        if if_empty and held:
            return {"skipped": True, "existing_values": held, "files": 0, "seconds": 0.0}
        model = DemoModel.from_warehouse(con)
        values = generate(model)
    finally:
        con.close()
    uploads = plan_uploads(model, values)
    raw_dir.mkdir(parents=True, exist_ok=True)
    chunks = [[(u, str(raw_dir / u.file_name)) for u in uploads[i:i + CHUNK]]
              for i in range(0, len(uploads), CHUNK)]
    ingest_seconds = 0.0
    outcomes: list = []
    with tempfile.TemporaryDirectory(prefix="demo_catalog_") as tmp:
        snapshot = str(Path(tmp) / "catalog.duckdb")
        shutil.copyfile(db_path, snapshot)
        from pipelines.returns.parse_worker import ParsePool
        with _writer_pool(workers) as pool, ParsePool() as parser:
            written = [pool.submit(_write_chunk, snapshot, model, c) for c in chunks]
            parser.warm_up()
            from pipelines.returns.validate import warm_up
            warm_up()   # import great-expectations while the workers write the first files
            con = db.connect(db_path)
            try:
                for chunk, future in zip(chunks, written):
                    try:
                        paths = future.result(timeout=600)
                    except TimeoutError:
                        raise DemoError("写入示例数据文件超时（10 分钟无进展）：请用 --db 指向本地磁盘后重试") from None
                    t0 = time.perf_counter()
                    outcomes += _ingest(con, paths, [u.uploaded_at for u, _ in chunk], db_path.parent / "raw",
                                        parser)
                    ingest_seconds += time.perf_counter() - t0
                from pipelines.workflow.review import approve_all_pending
                approve_all_pending(con, DEMO_USER, "示例数据：由示例程序审核通过", at_upload=True)
                t0 = time.perf_counter()
                from pipelines.metrics.figure_table import rebuild
                rebuild(con)
                refresh_seconds = time.perf_counter() - t0
            finally:
                con.close()
    rejected = [o for o in outcomes if o.status == "rejected"]
    if rejected:
        raise DemoError("示例数据有 %d 个文件未通过校验（示例数据生成程序的缺陷，请报告）：%s" % (
            len(rejected), "；".join(o.line() for o in rejected[:3])))
    return {
        "skipped": False, "files": len(uploads), "values": len(values),
        "templates": sum(u.layout == "template" for u in uploads),
        "long_tables": sum(u.layout == "long" for u in uploads),
        "late": sum(u.kind == "late" for u in uploads),
        "corrections": sum(u.kind == "correction" for u in uploads),
        "accepted": sum(o.status == "accepted" for o in outcomes),
        "duplicates": sum(o.status == "duplicate" for o in outcomes),
        "rows_new": sum(o.new for o in outcomes if o.status == "accepted"),
        "revisions": sum(o.revisions for o in outcomes if o.status == "accepted"),
        "warnings": sum(len(o.warnings) for o in outcomes),
        "ingest_seconds": round(ingest_seconds, 2), "figures_seconds": round(refresh_seconds, 2),
        "seconds": round(time.perf_counter() - started, 2), "raw_dir": str(raw_dir),
    }


def _ingest(con, paths: list[str], times: list[dt.datetime], archive_dir: Path, parser) -> list:
    from pipelines.returns.ingest import ingest_files
    return ingest_files(con, paths, user=DEMO_USER, channel=DEMO_CHANNEL, archive_dir=archive_dir,
                        now=times, parser=parser, refresh=False)   # figures rebuilt once at the end


class _InProcess:
    """Stand-in for a process pool when workers=0: runs each task at submit time."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, fn, *args):
        future: Future = Future()
        future.set_result(fn(*args))
        return future


def _writer_pool(workers: int):
    if workers <= 0:
        return _InProcess()
    # fork: the workers start before this process opens the warehouse again; the catalog they
    # read is a snapshot copy, so no DuckDB file is shared between processes.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))


def _write_chunk(snapshot: str, model: DemoModel, chunk: list[tuple[Upload, str]]) -> list[str]:
    """Write some uploads' workbooks (runs in a worker process); returns their paths."""
    from pipelines import db

    con = db.connect(snapshot, read_only=True) if any(u.layout == "template" for u, _ in chunk) else None
    try:
        for upload, path in chunk:
            if upload.layout == "template":
                write_filled_template(con, upload, Path(path))
            else:
                write_long_table(model, upload, Path(path))
    finally:
        if con is not None:
            con.close()
    return [path for _, path in chunk]


# ---------------------------------------------------------------- writing files

def write_filled_template(con, upload: Upload, path: Path) -> None:
    """The system's template for the district and period, filled in as a district would."""
    from openpyxl import load_workbook

    from pipelines.returns.templates import write_template

    write_template(con, upload.region, upload.period, path)
    wb = load_workbook(path)
    by_code = {v.indicator_code: v for v in upload.values}
    filled = 0
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        header = _find_header(ws, ("指标编码", "分子", "分母"))
        if header is None:
            continue
        row0, cols = header
        for row in range(row0 + 1, ws.max_row + 1):
            code = ws.cell(row, cols["指标编码"]).value
            v = by_code.get(str(code).strip()) if code is not None else None
            if v is None:
                continue
            ws.cell(row, cols["分子"]).value = v.numerator
            if v.denominator is not None:
                ws.cell(row, cols["分母"]).value = v.denominator
            if upload.kind == "correction" and "备注" in cols:
                ws.cell(row, cols["备注"]).value = "更正后数据（示例数据）"
            filled += 1
    if filled != len(by_code):
        raise DemoError(f"模板 {path.name} 中找不到全部指标（已填 {filled} 个，应填 {len(by_code)} 个）")
    data_sheet = wb.worksheets[0]
    if isinstance(data_sheet["A1"].value, str) and MARK not in data_sheet["A1"].value:
        data_sheet["A1"].value += f"（{MARK}）"
    if META_SHEET in wb.sheetnames:  # downloaded a few hours before the upload
        meta = wb[META_SHEET]
        for row in meta.iter_rows(min_row=1, max_row=meta.max_row):
            if row[0].value == "generated_at":
                row[1].value = (upload.uploaded_at - dt.timedelta(hours=3)).isoformat(timespec="seconds")
    _mark(wb, f"{MARK}：{upload.file_name[:-5]}")
    save_reproducibly(wb, path, upload.uploaded_at)


def _find_header(ws, labels: tuple[str, ...]) -> tuple[int, dict[str, int]] | None:
    for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, 15)):
        cols = {str(c.value).strip(): c.column for c in row if c.value is not None}
        if all(label in cols for label in labels):
            return row[0].row, cols
    return None


def write_long_table(model: DemoModel, upload: Upload, path: Path) -> None:
    """A compiled long table: title rows, a header, one row per district and indicator.

    Some tables are messy in the ways real ones are: numbers typed as text with thousands
    separators, a blank row, districts written by short name, notes under the data.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    r = rng_for(upload.file_name, "style")
    messy = r.random() < 0.3
    split_quarterly = r.random() < 0.4
    wb = Workbook()
    wb.remove(wb.active)
    groups: dict[str, list[DemoValue]] = {}
    for v in upload.values:
        ind = model.indicators[v.indicator_code]
        if upload.kind == "correction":
            key = "更正"
        elif ind.frequency == "季度" and split_quarterly:
            key = ind.name
        else:
            key = SHEET_OF_FREQUENCY[ind.frequency]
        groups.setdefault(key, []).append(v)
    title = f"{model.names[upload.jurisdiction]}医保便民服务指标{upload.period.label}报送汇总表（{MARK}）"
    if upload.kind == "correction":
        title = f"{model.names[upload.region]}{upload.period.label}数据更正表（{MARK}）"
    for sheet_name, vals in groups.items():
        ws = wb.create_sheet(_sheet_title(sheet_name))
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
        ws["A1"].font = Font(bold=True, size=14)
        ws["A1"].alignment = Alignment(horizontal="center")
        ws.append([f"填报单位：{model.names[upload.jurisdiction]}医疗保障局（{MARK}）", None, None, None,
                   f"报送日期：{upload.uploaded_at:%Y年%m月%d日}"])
        ws.append(["地区", "统计期", "指标", "分子", "分母", "备注"])
        for i, v in enumerate(vals):
            if messy and i == len(vals) // 2:
                ws.append([])
            region = model.names[v.region_code]
            if messy and r.random() < 0.3:
                region = f" {region} "
            ws.append([region, _period_text(v, r), model.indicators[v.indicator_code].name,
                       _number(v.numerator, messy, r), _number(v.denominator, messy, r),
                       "更正" if upload.kind == "correction" else None])
        ws.append([])
        ws.append([f"注：本表为{MARK}，由系统自动生成，仅用于演示。"])
        ws.append(["制表人：示例数据", None, "审核人：示例数据"])
        ws.column_dimensions["A"].width = 22
        ws.column_dimensions["C"].width = 36
    _mark(wb, title)
    save_reproducibly(wb, path, upload.uploaded_at)


def _sheet_title(name: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "", name)[:31]


def _period_text(v: DemoValue, r) -> str:
    p = v.period
    if p.type == "M":
        return r.choice([f"{p.year}年{p.month_from}月", f"{p.year}-{p.month_from:02d}",
                         f"{p.year}{p.month_from:02d}"])
    if p.type == "Q":
        return r.choice([p.label, f"{p.year}Q{p.month_to // 3}"])
    return f"{p.year}年"


def _number(x: int | None, messy: bool, r):
    if x is None:
        return None
    if messy and r.random() < 0.4:
        return f"{x:,}"
    return x


def _mark(wb, title: str) -> None:
    fixed = dt.datetime(2026, 1, 1)
    wb.properties.title = title
    wb.properties.subject = MARK
    wb.properties.creator = MARK
    wb.properties.keywords = MARK
    wb.properties.created = fixed


def save_reproducibly(wb, path: Path, stamp: dt.datetime) -> None:
    """Save so that the same workbook gives the same bytes (zip and document times fixed)."""
    buf = io.BytesIO()
    wb.save(buf)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    zstamp = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _CORE_TIME.sub(rb"\g<1>" + iso + rb"\g<2>", data)
            out = zipfile.ZipInfo(info.filename, date_time=zstamp)
            out.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(out, data)
