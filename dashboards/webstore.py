"""The server's access to its warehouse: a cursor per call, writes serialised by one lock.

While the server runs it owns the DuckDB file (one writer), so logins, uploads, the API and
admin changes all go through the server's own connection. DuckDB connections are not
thread-safe but their cursors are: every call gets its own cursor. Loads and target changes
take `write_lock` so that two uploads never race on the same keys; an upload holds it only
while it loads: the file is read by the server's parse workers (`parser`, a
pipelines.returns.parse_worker.ParsePool: bounded child processes) and validated before that, so a
slow or hostile file delays nobody else's upload.
"""
from __future__ import annotations

import secrets
import threading
from pathlib import Path


class WebStore:
    def __init__(self, con, write_lock: threading.Lock | None = None, db_path: str | None = None,
                 on_change=None, parser=None, refresh_soon=None):
        self.con = con
        self.write_lock = write_lock or threading.Lock()
        self.on_change = on_change          # called after every write (metrics caches drop answers)
        self.parser = parser                # ParsePool of the server (None: one per call)
        # figures refresh after a load: in the background where the warehouse offers it (the
        # server's), else inside the load's write
        self.refresh_soon = refresh_soon
        self.db_path = Path(db_path) if db_path else _db_file(con)
        self._warming: threading.Thread | None = None

    @classmethod
    def of(cls, warehouse) -> "WebStore":
        """Adapt what create_app holds: a DuckDB connection or an object carrying one."""
        if isinstance(warehouse, WebStore):
            return warehouse
        con = warehouse
        for attr in ("con", "connection", "_con"):
            if hasattr(warehouse, attr) and hasattr(getattr(warehouse, attr), "cursor"):
                con = getattr(warehouse, attr)
                break
        lock = None
        for attr in ("write_lock", "lock"):
            candidate = getattr(warehouse, attr, None)
            if candidate is not None and hasattr(candidate, "acquire"):
                lock = candidate
                break
        path = getattr(warehouse, "db_path", None) or getattr(warehouse, "path", None)
        return cls(con, lock, str(path) if path else None, getattr(warehouse, "changed", None),
                   getattr(warehouse, "parser", None), getattr(warehouse, "refresh_soon", None))

    @property
    def archive_dir(self) -> Path:
        """Uploaded originals are archived beside the warehouse: <db dir>/raw/."""
        return self.db_path.parent / "raw"

    def run(self, fn):
        """fn(cursor) on a fresh cursor (reads, and appends such as audit lines)."""
        cur = self.con.cursor()
        try:
            return fn(cur)
        finally:
            cur.close()

    def write(self, fn):
        """fn(cursor) while holding the write lock; then tell the caches the data may have changed."""
        with self.write_lock:
            try:
                return self.run(fn)
            finally:
                if self.on_change is not None:
                    self.on_change()

    def warm_up_ingest(self) -> None:
        """Start the parse workers, import great-expectations and build the suites in the
        background (once), so that the first upload of a reporter who opened the 报送 page
        does not wait ~10 s for them."""
        if self.parser is not None:
            self.parser.warm_up()
        with self.write_lock:
            if self._warming is not None:
                return
            def warm():
                from pipelines.returns.validate import warm_up
                warm_up()
            self._warming = threading.Thread(target=warm, name="ingest-warm-up", daemon=True)
            self._warming.start()

    def session_secret(self) -> str:
        """The Flask secret key, created once and kept in the warehouse settings table."""
        from pipelines.db import setting_or_create
        return self.write(lambda con: setting_or_create(con, "web.session_secret",
                                                        lambda: secrets.token_hex(32)))

    def ingest(self, items, *, user: str, channel: str, allowed_regions=None, dry_run=False):
        """pipelines.returns.ingest for paths or (file_name, bytes) pairs through the server's connection:
        read and validated without the write lock, then loaded holding it."""
        from pipelines.returns.ingest import archive_checked, check_files, load_checked
        items = list(items)
        batch = self.run(lambda con: check_files(con, items, allowed_regions=allowed_regions,
                                                 dry_run=dry_run, parser=self.parser))
        if not dry_run:
            archive_checked(batch, self.archive_dir)

        def load(con):
            if not dry_run:
                load_checked(con, batch, user=user, channel=channel, refresh=self.refresh_soon is None)
            for out in batch.outcomes:
                if out.status == "duplicate" and allowed_regions is not None:
                    _check_duplicate_scope(con, out, allowed_regions, user, channel)
            return batch.outcomes
        if dry_run and not (allowed_regions is not None and any(o.status == "duplicate" for o in batch.outcomes)):
            return batch.outcomes
        outcomes = self.write(load)
        if self.refresh_soon is not None and any(o.status == "accepted" and (o.new or o.revisions)
                                                 for o in outcomes):
            self.refresh_soon()
        return outcomes


def _db_file(con) -> Path:
    from pipelines.db import database_file
    return database_file(con) or Path("data/warehouse.duckdb")


def _check_duplicate_scope(con, out, allowed: set[str], user: str, channel: str) -> None:
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
