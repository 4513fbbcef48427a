"""The warehouse as the dashboard server holds it: the one store of a server process.

`create_app` opens it and keeps it on the Flask server (`server.config["WAREHOUSE"]`). It owns
the read-write DuckDB connection, the write lock, the answer cache and its data version, the
parse workers and the background refresh of the figures table. While the server runs it owns
the file (DuckDB's one-writer rule), so logins, uploads, the API and admin changes all go
through it:

- `read(fn)`: fn(cursor) on a fresh cursor (DuckDB connections are not thread-safe, their
  cursors are); no lock.
- `write(fn)`: fn(cursor) holding the write lock and the figures lock; then the cache's
  version moves on (`data_changed=False` for writes that change no figure: audit lines,
  sessions, settings).
- `check(items, ...)`: the dry run of an upload — read by the parse workers and validated
  without the lock; it changes no value and clears no cache (a scope violation is still
  written to the audit log).
- `ingest(items, ...)`: check, archive, then load holding the write lock alone — beside a
  running refresh, which holds the figures lock; figures refresh after, in the background.
  Each upload is read and validated in its own request thread, beside the others: a hostile
  or huge file holds up nobody else's (a group commit through one ingest thread was tried and
  dropped — a parse bomb in a batch made every upload behind it wait for the bomb's limits).
"""
from __future__ import annotations

import datetime as dt
import secrets
import threading
from contextlib import contextmanager
from pathlib import Path

CONFIG_KEY = "WAREHOUSE"
REFRESH_DEFER_S = 2.0   # how long the figures refresh lets waiting uploads load first


class Warehouse:
    """The open warehouse of one server process, and the pool of workers that parse its uploads."""

    def __init__(self, db_path, parse_limits=None):
        from pipelines import db
        from pipelines.memo import ResultCache
        from pipelines.returns.check_pool import CheckPool
        from pipelines.returns.parse_worker import ParsePool
        self.path = Path(db_path)
        self.con = db.connect(self.path)
        self.write_lock = threading.Lock()       # one writer at a time (loads never race on keys)
        self.figures_lock = threading.Lock()     # the figures table's writer: the refresh, or a write
        self.cache = ResultCache()
        self.parser = ParsePool(parse_limits)    # workers start on first use or warm_up()
        self.checker = CheckPool()               # GX runs, off the server's interpreter lock
        self._freezing: set = set()              # (as_of, jurisdiction) snapshots being built
        self._freezing_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._refresh_wanted = False             # a write marked figures stale since the last round
        self._refreshing = False                 # a refresher thread is running
        self._stop = threading.Event()           # set by close(): background watchers end
        self._loading = 0                        # uploads between their check and their load
        self._loading_lock = threading.Lock()
        threading.Thread(target=self._serve_reader_requests, name="reader-snapshot", daemon=True).start()

    # ---------------------------------------------------------------- read, write, check
    @property
    def db_path(self) -> Path:
        return self.path

    @property
    def archive_dir(self) -> Path:
        """Uploaded originals are archived beside the warehouse: <db dir>/raw/."""
        return self.path.parent / "raw"

    def read(self, fn):
        """fn(cursor) on a fresh cursor (reads, and appends such as audit lines)."""
        cur = self.con.cursor()
        try:
            return fn(cur)
        finally:
            cur.close()


    def write(self, fn, *, data_changed: bool = True):
        """fn(cursor) holding the write lock and the figures lock (so it never runs beside the
        background refresh: an admin change may refresh figures itself); then, unless the write
        changed no data a figure depends on, the cached answers are dropped (even when fn failed
        half-way: a failed write rolled back, but a cache cleared once too often is only slower)."""
        with self.write_lock, self.figures_lock:
            try:
                return self.read(fn)
            finally:
                if data_changed:
                    self.changed()

    def _load(self, fn):
        """An upload's load: fn(cursor) holding the write lock alone. A load writes values and
        marks figures stale, never the figures themselves, so it need not wait for a refresh
        that is running (seconds under load): DuckDB keeps the two transactions apart, and the
        refresh clears only the marks it read (metrics.figure_table.refresh)."""
        with self.write_lock:
            try:
                return self.read(fn)
            finally:
                self.changed()

    def check(self, items, *, user: str, channel: str, allowed_regions=None, answers=None):
        """The dry run of an upload (the page's preview): outcomes as `ingest` would give them,
        nothing loaded, no cache cleared, the write lock never taken for the checks; warnings
        that must be answered are marked (`required`), not refused, so the page can ask."""
        from pipelines.returns.ingest import check_files
        items = list(items)
        batch = self.read(lambda con: check_files(con, items, allowed_regions=allowed_regions,
                                                  dry_run=True, parser=self.parser, answers=answers,
                                                  defer_answers=True, checker=self.checker))
        if allowed_regions is not None and any(o.status == "duplicate" for o in batch.outcomes):
            self.write(lambda con: _refuse_duplicates_outside(con, batch.outcomes, allowed_regions,
                                                              user, channel), data_changed=False)
        return batch.outcomes

    def ingest(self, items, *, user: str, channel: str, allowed_regions=None, dry_run=False,
               answers=None):
        """pipelines.returns.ingest for paths or (file_name, bytes) pairs through the server's
        connection: read and validated without the write lock, archived, then loaded holding it.
        `answers`: the upload page's 说明 to warnings (answer_key → text)."""
        if dry_run:
            return self.check(items, user=user, channel=channel, allowed_regions=allowed_regions,
                              answers=answers)
        with self._loading_lock:
            self._loading += 1
        try:
            return self._ingest_now(list(items), user, channel, allowed_regions, answers)
        finally:
            with self._loading_lock:
                self._loading -= 1

    def _ingest_now(self, items, user: str, channel: str, allowed_regions, answers=None):
        from pipelines.returns.ingest import archive_checked, check_files, load_checked
        batch = self.read(lambda con: check_files(con, items, allowed_regions=allowed_regions,
                                                  parser=self.parser, answers=answers,
                                                  checker=self.checker))
        archive_checked(batch, self.archive_dir)

        def load(con):
            load_checked(con, batch, user=user, channel=channel, refresh=False)
            if allowed_regions is not None:
                _refuse_duplicates_outside(con, batch.outcomes, allowed_regions, user, channel)
            return batch.outcomes
        outcomes = self._load(load)
        if any(o.status == "accepted" and (o.new or o.revisions) for o in outcomes):
            self.refresh_soon()
        return outcomes

    def session_secret(self) -> str:
        """The Flask secret key, created once and kept in the warehouse settings table."""
        from pipelines.db import setting_or_create
        return self.write(lambda con: setting_or_create(con, "web.session_secret",
                                                        lambda: secrets.token_hex(32)),
                          data_changed=False)

    def warm_up_ingest(self) -> None:
        """Start the parse workers and the check workers (each imports great-expectations and
        builds the suites in its own process), so that the first upload of a reporter who opened
        the 报送 page does not wait ~10 s for them. Returns at once; idempotent."""
        self.parser.warm_up()
        self.checker.warm_up()

    # ---------------------------------------------------------------- background work
    def freeze_soon(self, as_of: dt.datetime, jurisdiction: str) -> None:
        """Build, in the background, the frozen snapshot of a replayed moment for one
        jurisdiction (metrics.figure_table.freeze), so that the meeting's next views read it
        instead of computing. Until it is there, views compute; writes wait for it."""
        key = (as_of, jurisdiction)
        with self._freezing_lock:
            if key in self._freezing:
                return
            self._freezing.add(key)

        def build():
            from pipelines.metrics import figure_table
            try:
                with self.write_lock, self.figures_lock:
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
                    self._after_uploads()
                    with self.figures_lock:     # not the write lock: uploads load beside it
                        cur = self.con.cursor()
                        try:
                            figure_table.refresh(cur)
                        finally:
                            cur.close()
                    self.changed()
                except Exception:          # the marks stay: readers compute, the next write retries
                    logging.getLogger(__name__).exception("指标结果表刷新失败")
        threading.Thread(target=run, name="figures-refresh", daemon=True).start()

    def _after_uploads(self, at_most_s: float = REFRESH_DEFER_S) -> None:
        """Let uploads that are on their way load first (for at most `at_most_s`): one refresh
        after them covers them all, where a refresh beside them is stale as soon as each commits
        (until the next refresh, readers compute from the values)."""
        import time
        deadline = time.monotonic() + at_most_s
        while self._loading and time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(0.02)

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
                with self.write_lock, self.figures_lock:
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
        self.checker.close()
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


def _refuse_duplicates_outside(con, outcomes, allowed: set[str], user: str, channel: str) -> None:
    for out in outcomes:
        if out.status == "duplicate":
            _refuse_duplicate_outside(con, out, allowed, user, channel)


def _refuse_duplicate_outside(con, out, allowed: set[str], user: str, channel: str) -> None:
    """A file already loaded is answered 'duplicate' before any check: refuse it all the same
    when its rows lie outside the uploader's scope (a reporter must not learn or claim it)."""
    from pipelines import db
    from pipelines.returns.extract import Issue
    from pipelines.returns.submission_info import submission_regions
    regions = submission_regions(con, out.submission_id)
    outside = sorted(set(regions) - allowed) if regions else []
    if not outside:
        return
    out.status = "rejected"
    out.scope_violation = True
    out.rows = out.unchanged = 0
    out.errors = [Issue("error", None, None, f"文件含有不属于您报送范围的地区 {'、'.join(outside)}，整份文件不予接收；"
                                         "请只报送本地区的数据")]
    db.audit(con, user, "ingest", out.file_name, "rejected",
             {"channel": channel, "content_hash": out.content_hash, "scope_violation": True,
              "duplicate_of": out.submission_id})
    out.submission_id = None
