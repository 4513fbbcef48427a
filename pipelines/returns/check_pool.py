"""The server's great-expectations runs, in worker processes of their own.

The dashboard server is one Python process: its request threads share one interpreter lock. A
GX run is ~40 ms of pure Python per batch (more under load), one at a time (GX is not
thread-safe), and importing GX takes ~5 s of the interpreter — so in the server, concurrent
uploads queued behind each other's runs and the first uploads after a start behind the import,
while every page read waited beside them (the concurrent soak, bench/README.md). Here the runs
go to `workers` processes that import GX once, when the pool warms up, and run suites side by
side; the server only pickles the batch's frame out and the failures (plain tuples) back.

Not a sandbox: what a worker gets is a frame the server built from rows its parse workers
(parse_worker.py, bounded) extracted. A pool that broke (a worker died) is replaced, and the
run that found it broken is done in the server's own process, as the CLI always does.
Each worker ends by itself once its server is gone (a server killed with SIGKILL never shuts
the pool down). The pool is an object its owner creates and closes (the server's Warehouse);
nothing here is module state.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

log = logging.getLogger("ybjc.check")


def _start_worker(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)          # Ctrl+C is the server's to handle
    threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    from pipelines.returns.validate import warm_up
    warm_up()                                             # GX imported, context and suites built


def _exit_with(parent: int, every_s: float = 0.5) -> None:
    """End this worker once the server that started it is gone. A server killed with SIGKILL
    never shuts its pool down, and a spawned worker waiting for its next batch would wait for
    good: the restart soak left 30 of them, ~160 MB each, until the machine ran out of memory."""
    while os.getppid() == parent:
        time.sleep(every_s)
    os._exit(0)


def _ready() -> int:
    return os.getpid()


def _run(frame, checks, params):
    from pipelines.returns.validate import run_checks
    return run_checks(frame, checks, params)


class CheckPool:
    """`workers` GX processes (spawned: a clean interpreter, nothing of the server's inherited)."""

    def __init__(self, workers: int = 2, timeout_s: float = 120.0):
        self.workers = workers
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False
        self.fallbacks = 0                   # runs done in the caller's process (pool broken)

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("校验进程池已关闭")
            if self._executor is None:
                self._executor = ProcessPoolExecutor(self.workers, multiprocessing.get_context("spawn"),
                                                     initializer=_start_worker, initargs=(os.getpid(),))
            return self._executor

    def warm_up(self, workers: int | None = None) -> None:
        """Start `workers` (default all) processes and their GX import now; returns at once."""
        try:
            pool = self._pool()
            for _ in range(min(workers or self.workers, self.workers)):
                pool.submit(_ready)
        except (RuntimeError, BrokenProcessPool):
            pass

    def run(self, frame, checks: tuple[str, ...], params: dict):
        """validate.run_checks in a worker: the failed expectations (validate.Failure)."""
        pool = self._pool()
        try:
            return pool.submit(_run, frame, checks, params).result(timeout=self.timeout_s)
        except BrokenProcessPool:
            log.exception("校验进程异常退出，本批在服务进程内校验")
            with self._lock:
                if self._executor is pool:
                    self._executor = None
            pool.shutdown(wait=False, cancel_futures=True)
        self.fallbacks += 1
        from pipelines.returns.validate import run_checks
        return run_checks(frame, checks, params)

    def worker_pids(self) -> list[int]:
        with self._lock:
            procs = getattr(self._executor, "_processes", None) or {}
            return sorted(procs)

    def close(self) -> None:
        """Stop the workers (a run in progress is let finish). Idempotent."""
        with self._lock:
            self._closed = True
            pool, self._executor = self._executor, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
