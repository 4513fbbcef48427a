"""The warehouse as the dashboard server holds it: one read-write DuckDB connection per process.

`create_app` opens it and keeps it on the Flask server (`server.config["WAREHOUSE"]`). DuckDB
connections are not thread-safe but cursors are: every request works on its own cursor
(`open_metrics`), closed when the request is done. While the server runs it owns the file
(DuckDB's one-writer rule); writers such as the web upload use `Warehouse.con` through it.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path

CONFIG_KEY = "WAREHOUSE"


class Warehouse:
    """The open warehouse of one server process, and the pool of workers that parse its uploads."""

    def __init__(self, db_path, parse_limits=None):
        import threading

        from pipelines import db
        from pipelines.memo import ResultCache
        from pipelines.returns.parse_worker import ParsePool
        self.path = Path(db_path)
        self.con = db.connect(self.path)
        self.write_lock = threading.Lock()       # picked up by WebStore.of: one lock per file
        self.cache = ResultCache()
        self.parser = ParsePool(parse_limits)    # workers start on first use or warm_up()
        self._freezing: set = set()              # (as_of, jurisdiction) snapshots being built
        self._freezing_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._refresh_wanted = False             # a write marked figures stale since the last round
        self._refreshing = False                 # a refresher thread is running
        self._stop = threading.Event()           # set by close(): background watchers end
        threading.Thread(target=self._serve_reader_requests, name="reader-snapshot", daemon=True).start()

    def freeze_soon(self, as_of: dt.datetime, jurisdiction: str) -> None:
        """Build, in the background, the frozen snapshot of a replayed moment for one
        jurisdiction (metrics.figure_table.freeze), so that the meeting's next views read it
        instead of computing. Until it is there, views compute; writes wait for it."""
        import threading
        key = (as_of, jurisdiction)
        with self._freezing_lock:
            if key in self._freezing:
                return
            self._freezing.add(key)

        def build():
            from pipelines.metrics import figure_table
            try:
                with self.write_lock:
                    cur = self.con.cursor()
                    try:
                        if not figure_table.frozen(cur, as_of, jurisdiction):
                            figure_table.freeze(cur, as_of, [jurisdiction])
                            self.changed()
                    finally:
                        cur.close()
            finally:
                with self._freezing_lock:
                    self._freezing.discard(key)
        threading.Thread(target=build, name="freeze-snapshot", daemon=True).start()

    def refresh_soon(self) -> None:
        """Bring the figures table up to date in the background after a write marked figures
        stale (metrics.figure_table.refresh), so the upload is answered as soon as its values
        are committed. Until the refresh commits, readers find the marks and compute from the
        values: no view shows a figure that disagrees with them. One refresher runs at a time;
        it goes round again while writes keep marking."""
        import threading
        with self._refresh_lock:
            self._refresh_wanted = True
            if self._refreshing:
                return
            self._refreshing = True

        def run():
            import logging

            from pipelines.metrics import figure_table
            while True:
                with self._refresh_lock:
                    if not self._refresh_wanted:
                        self._refreshing = False
                        return
                    self._refresh_wanted = False
                try:
                    with self.write_lock:
                        cur = self.con.cursor()
                        try:
                            figure_table.refresh(cur)
                        finally:
                            cur.close()
                    self.changed()
                except Exception:          # the marks stay: readers compute, the next write retries
                    logging.getLogger(__name__).exception("指标结果表刷新失败")
        threading.Thread(target=run, name="figures-refresh", daemon=True).start()

    def changed(self) -> None:
        """Called by the write path once a change is committed: cached answers are stale."""
        self.cache.changed()

    def _serve_reader_requests(self, every_s: float = 0.5) -> None:
        """Write the read-only copy a reading command of the CLI asks for while this server
        holds the file (pipelines/reader_snapshot.py): one stat per half second, a copy only
        when asked for, under the write lock so that no write is half in."""
        from pipelines import reader_snapshot
        while not self._stop.wait(every_s):
            if not reader_snapshot.requested(self.path):
                continue
            try:
                with self.write_lock:
                    cur = self.con.cursor()
                    try:
                        reader_snapshot.serve_request(cur, self.path)
                    finally:
                        cur.close()
            except Exception:           # the command waits, then says the server did not answer
                import logging
                logging.getLogger(__name__).exception("只读快照写出失败")

    def cursor(self):
        return self.con.cursor()

    def close(self, wait_seconds: float = 30.0) -> None:
        """Stop the parse workers; close once in-flight requests have finished with their cursors
        (DuckDB refuses before)."""
        import time

        import duckdb
        self._stop.set()
        self.parser.close()
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                self.con.close()
                return
            except duckdb.Error as exc:
                if "busy" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def freeze_soon(as_of: dt.datetime, jurisdiction: str) -> None:
    current_warehouse().freeze_soon(as_of, jurisdiction)


def current_warehouse() -> Warehouse:
    """The warehouse of the app serving the current request."""
    import flask
    return flask.current_app.config[CONFIG_KEY]


@contextmanager
def open_metrics(as_of: dt.datetime | None = None):
    """A `Metrics` on a fresh cursor of the current app's warehouse, as it stood at `as_of`."""
    from pipelines.metrics import Metrics
    warehouse = current_warehouse()
    cur = warehouse.cursor()
    try:
        yield Metrics(cur, as_of=as_of, cache=warehouse.cache)
    finally:
        cur.close()


def memoised_page(page: str, state, build):
    """The layout `build()` makes for `page` in view `state`, reused until the warehouse changes.

    Only for pages whose layout depends on nothing but the view state, the data and the date
    (not on the user): rendering a 1,000-cell heatmap costs more than the metrics behind it.
    """
    key = ("page", page, state, dt.date.today())
    return current_warehouse().cache.get_or_compute(key, build)
