"""Parse uploaded workbooks in bounded child processes, so that no file can take the server down.

Every byte of an upload — returns, target sheets, region sheets — is read by a worker process:
- its address space is capped (`resource.setrlimit(RLIMIT_AS)`), so a hostile workbook makes an
  allocation fail in the worker (python-calamine then aborts the worker, not the server);
- each file gets a CPU-time limit (RLIMIT_CPU, raised per job) and a wall-clock timeout after
  which the parent kills the worker;
- it has no access to the warehouse: it is forked from a clean fork server (no DuckDB handle is
  ever inherited), may not write any file (RLIMIT_FSIZE 0) and is never told where the
  warehouse is. It gets bytes and gives back tidy objects: an `Extraction` (rows, totals,
  errors, warnings — the extractor's dataclasses, pickled), or a `Workbook` of cell values.
A worker that dies or times out is replaced; its file is answered with a clear Chinese message
(`WorkbookError`, "文件过大或结构异常，无法在限定资源内读取……"), and other files, the server
and the warehouse are untouched. Validation (great-expectations) and loading stay in the caller.

`ParsePool` keeps `workers` processes warm (a typical return costs a pipe round trip, not a
process start), grows to `max_workers` under concurrent uploads, and replaces a worker after
`max_jobs` files or once its peak memory passed `recycle_mb`. The pool is an object its owner
creates and closes (the server's Warehouse, a CLI command, one `ingest_files` call); nothing
here is module state.
"""
from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import resource
import signal
import threading
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pipelines.returns.ooxml_package import MIB, Limits, cells_for_memory
from pipelines.returns.workbook import Workbook, WorkbookError, read_workbook

log = logging.getLogger("ybjc.parse")
TOO_BIG = "文件过大或结构异常，无法在限定资源内读取"
FIX = ("请删除远处的空白单元格、多余的工作表和图片，必要时把数据拆成几个文件，在 Excel 或 WPS 中另存为新的"
       " .xlsx 后再上传")


@dataclass(frozen=True)
class ParseLimits:
    memory_mb: int = 1024             # address space of one worker
    cpu_seconds: int = 20             # CPU time per file
    wall_seconds: float = 30.0        # wall-clock time per file (the parent kills the worker)
    workers: int = 2                  # kept warm
    max_workers: int = 4              # at most, under concurrent uploads
    max_jobs: int = 1000              # files per worker before it is replaced
    recycle_mb: int = 384             # a worker whose peak memory passed this is replaced
    max_rows: int = 200_000           # rows one return may bring back (two full sheets of 100,000)
    max_sheet_cells: int = 1_000_000  # cells an admin sheet (targets, regions) may bring back

    @classmethod
    def from_env(cls, env=os.environ) -> "ParseLimits":
        """Overrides from YBJC_PARSE_MEMORY_MB, YBJC_PARSE_CPU_S, YBJC_PARSE_TIMEOUT_S, YBJC_PARSE_WORKERS."""
        kw = {}
        for key, field_name, kind in (("YBJC_PARSE_MEMORY_MB", "memory_mb", int),
                                      ("YBJC_PARSE_CPU_S", "cpu_seconds", int),
                                      ("YBJC_PARSE_TIMEOUT_S", "wall_seconds", float),
                                      ("YBJC_PARSE_WORKERS", "workers", int)):
            if env.get(key):
                kw[field_name] = kind(env[key])
        limits = cls(**kw)
        return limits if limits.max_workers >= limits.workers else cls(**kw, max_workers=limits.workers)

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * MIB

    def workbook_limits(self) -> Limits:
        """The reader's limits: the total-cells cap follows from the worker's memory."""
        return Limits(max_cells=cells_for_memory(self.memory_bytes))


class RegionIndex:
    """Region names, codes and aliases (match keys) -> code, for the template layout's check that
    the visible region agrees with the hidden one. Sent to each worker once per batch."""

    def __init__(self, by_key: dict[str, str]):
        self.by_key = by_key
        self.token = uuid.uuid4().hex


# ------------------------------------------------------------------ the worker process

def _bound(limits: ParseLimits) -> None:
    """Limits the worker sets on itself before it reads anything."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)        # Ctrl+C is the parent's to handle
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))   # may write no file at all


def _cpu_budget(seconds: int) -> None:
    used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(used) + 1 + seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _extract(file_name: str, data: bytes, by_key: dict[str, str], limits: Limits, max_rows: int):
    from pipelines.returns.cells import match_key
    from pipelines.returns.extract import extract
    wb = read_workbook(data, file_name, limits)
    out = extract(wb, file_name, lambda text: by_key.get(match_key(text)))
    if len(out.rows) + len(out.totals) > max_rows:          # the answer itself stays bounded
        raise WorkbookError(f"文件中共有 {len(out.rows) + len(out.totals)} 行数据，超过一次报送的上限 "
                            f"{max_rows} 行：请拆分成几个文件后分别上传")
    return out


def serve(conn, limits: ParseLimits) -> None:
    """The worker's loop: one request at a time until the pipe closes or None arrives."""
    _bound(limits)
    book_limits = limits.workbook_limits()
    sheet_limits = dataclasses.replace(book_limits, max_cells=min(book_limits.max_cells, limits.max_sheet_cells))
    regions: tuple[str | None, dict] = (None, {})
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        _cpu_budget(limits.cpu_seconds)
        try:
            kind, file_name, data, *rest = msg
            if kind == "extract":
                token, by_key = rest
                if by_key is not None:
                    regions = (token, by_key)
                reply = ("ok", _extract(file_name, data, regions[1], book_limits, limits.max_rows))
            else:
                reply = ("ok", read_workbook(data, file_name, sheet_limits))
        except WorkbookError as exc:
            reply = ("refused", (str(exc), exc.sheet, exc.cell))
        except MemoryError:
            reply = ("memory", None)
        except Exception:  # noqa: BLE001 - a defect of ours: reported to the parent, logged there
            reply = ("defect", traceback.format_exc(limit=8))
        del msg
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        try:
            conn.send((*reply, peak))
        except MemoryError:
            conn.send(("memory", None, peak))
        if reply[0] == "memory":
            return


# ------------------------------------------------------------------ the parent side

class _Worker:
    def __init__(self, ctx, limits: ParseLimits):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=serve, args=(child, limits), name="ybjc-parse", daemon=True)
        self.proc.start()
        child.close()
        self.jobs = 0
        self.peak = 0
        self.regions_token: str | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid

    def call(self, msg, timeout: float):
        """(status, value): status ok | refused | memory | defect | timeout | died."""
        self.jobs += 1
        try:
            self.conn.send(msg)
            if not self.conn.poll(timeout):
                return "timeout", None
            status, value, self.peak = self.conn.recv()
            return status, value
        except (EOFError, OSError, ValueError):
            return "died", None

    def stop(self) -> None:
        try:
            if self.proc.is_alive():
                self.conn.send(None)
                self.proc.join(1)
        except (OSError, ValueError):
            pass
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def exit_code(self) -> int | None:
        self.proc.join(2)
        return self.proc.exitcode


class ParsePool:
    """Warm, bounded workers that parse uploaded workbooks (see module docstring)."""

    def __init__(self, limits: ParseLimits | None = None, start_method: str = "forkserver"):
        self.limits = limits or ParseLimits()
        self.start_method = start_method
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._live = 0                 # workers started or starting, idle or busy
        self._closed = False
        self.failures = 0              # files answered with TOO_BIG (died, timed out, memory)

    # -- lifecycle --------------------------------------------------------------------------
    def _context(self):
        ctx = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            ctx.set_forkserver_preload(["pipelines.returns.parse_worker", "pipelines.returns.extract", "python_calamine"])
        return ctx

    def warm_up(self) -> None:
        """Start the warm workers in the background (returns at once)."""
        with self._cond:
            missing = self.limits.workers - self._live
            if self._closed or missing <= 0:
                return
            self._live += missing
        threading.Thread(target=self._start_idle, args=(missing,), name="parse-warm-up", daemon=True).start()

    def _start_idle(self, n: int) -> None:
        for _ in range(n):
            try:
                worker = _Worker(self._context(), self.limits)
            except Exception:  # noqa: BLE001 - a worker that cannot start is retried on demand
                log.exception("解析进程无法启动")
                with self._cond:
                    self._live -= 1
                    self._cond.notify_all()
                continue
            self._put_back(worker)

    def _put_back(self, worker: _Worker) -> None:
        with self._cond:
            if not self._closed and len(self._idle) < self.limits.workers:
                self._idle.append(worker)
                self._cond.notify_all()
                return
            self._live -= 1
            self._cond.notify_all()
        worker.stop()

    def close(self) -> None:
        """Stop every worker (busy ones as soon as their file is done). Idempotent."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._live -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.stop()

    def __enter__(self) -> "ParsePool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def worker_pids(self) -> list[int]:
        """Process ids of the idle workers (tests look at what a worker may touch)."""
        with self._cond:
            return [w.pid for w in self._idle if w.pid]

    # -- one file ---------------------------------------------------------------------------
    def _acquire(self) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("解析进程池已关闭")
                if self._idle:
                    return self._idle.pop()
                if self._live < self.limits.max_workers:
                    self._live += 1
                    break
                self._cond.wait(1.0)
        try:
            return _Worker(self._context(), self.limits)
        except BaseException:
            with self._cond:
                self._live -= 1
                self._cond.notify_all()
            raise

    def _release(self, worker: _Worker, healthy: bool) -> None:
        limits = self.limits
        if healthy and worker.jobs < limits.max_jobs and worker.peak < limits.recycle_mb * MIB:
            self._put_back(worker)
            return
        with self._cond:
            self._live -= 1
            self._cond.notify_all()
        worker.stop()
        self.warm_up()                 # replace it in the background: the pool stays warm

    def _run(self, file_name: str, build_msg):
        worker = self._acquire()
        status, value = worker.call(build_msg(worker), self.limits.wall_seconds)
        if status == "died":
            status = f"died:{worker.exit_code()}"
        self._release(worker, status in ("ok", "refused"))
        if status == "ok":
            return value
        if status == "refused":
            message, sheet, cell = value
            raise WorkbookError(message, sheet=sheet, cell=cell)
        if status == "defect":
            log.error("解析 %s 时出现程序错误：\n%s", file_name, value)
            raise WorkbookError("系统读取该文件时出错（已记录，请联系管理员）：可先在 Excel 或 WPS 中另存为新的"
                                " .xlsx 后重试")
        self.failures += 1
        log.warning("解析 %s 的进程被终止：%s", file_name, status)
        raise WorkbookError(f"{TOO_BIG}（{self._reason(status)}）：{FIX}")

    def _reason(self, status: str) -> str:
        if status == "timeout":
            return f"读取超过 {self.limits.wall_seconds:g} 秒，已终止"
        code = status.partition(":")[2]
        if code == str(-signal.SIGXCPU):
            return f"读取用时超过 {self.limits.cpu_seconds} 秒 CPU 时间上限，已终止"
        return f"读取所需内存超过上限 {self.limits.memory_mb} MB 或读取进程异常退出"

    def extract_return(self, file_name: str, data: bytes, regions: RegionIndex | None = None):
        """The extractor's `Extraction` of one return. Raises WorkbookError (Chinese, located)."""
        def msg(worker: _Worker):
            token = regions.token if regions else None
            send = None
            if worker.regions_token != token:
                send = regions.by_key if regions else {}
                worker.regions_token = token
            return ("extract", file_name, data, token, send)
        return self._run(file_name, msg)

    def read_sheets(self, file_name: str, data: bytes) -> Workbook:
        """Every worksheet's cell values (admin sheets: targets, regions). Raises WorkbookError."""
        return self._run(file_name, lambda worker: ("read", file_name, data))

    def extract_many(self, items: list[tuple[str, bytes]], regions: RegionIndex | None = None) -> list:
        """extract_return for each (file_name, bytes), in parallel over the warm workers; each
        result is an Extraction or the WorkbookError that refused the file."""
        def one(item):
            try:
                return self.extract_return(item[0], item[1], regions)
            except WorkbookError as exc:
                return exc
        if len(items) <= 1:
            return [one(item) for item in items]
        with ThreadPoolExecutor(min(len(items), self.limits.workers), thread_name_prefix="parse") as ex:
            return list(ex.map(one, items))
