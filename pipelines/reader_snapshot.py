"""Reading the warehouse while the dashboard server holds it (DuckDB's one-writer rule).

A process that has the file open for writing keeps every other process out, readers too. So a
reading command (`gaps`, `template`, `bulletin`) that finds the file held asks the server for
a consistent copy: it drops a request file beside the warehouse, and the server (a watcher of
dashboards/store.py, one stat every half second) writes `warehouse.reader-snapshot.duckdb` with
`COPY FROM DATABASE` under its write lock and swaps it in atomically (`os.replace`: a reader that
has an old copy open keeps reading it). The command waits for a copy newer than its request,
then reads it, saying so on stderr; it never waits on DuckDB's lock and never sees a
half-written file. The copy is made only when asked for: at national scale it takes ~13 s and
~1 GB, which the server must not pay after every upload.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

SUFFIX = ".reader-snapshot.duckdb"
REQUEST_SUFFIX = ".reader-snapshot.request"
ALIAS = "ybjc_reader_snapshot"
WAIT_S = 180.0          # how long a reading command waits for the server's copy


def snapshot_path(db_path) -> Path:
    p = Path(db_path)
    return p.with_name(p.name[:-len(".duckdb")] + SUFFIX if p.name.endswith(".duckdb")
                       else p.name + SUFFIX)


def request_path(db_path) -> Path:
    p = Path(db_path)
    return p.with_name((p.name[:-len(".duckdb")] if p.name.endswith(".duckdb") else p.name) + REQUEST_SUFFIX)


def requested(db_path) -> bool:
    """Has a reading command asked for a copy (the server's watcher calls this)?"""
    return request_path(db_path).exists()


def serve_request(con, db_path) -> Path | None:
    """Write the copy a reading command asked for (the caller holds the server's write lock);
    the request is taken first, so one asked for meanwhile gets another copy."""
    req = request_path(db_path)
    try:
        req.unlink()
    except FileNotFoundError:
        return None
    return write_snapshot(con, db_path)


def write_snapshot(con, db_path) -> Path:
    """Copy the open warehouse (`con`, the server's connection or a cursor of it) to its
    snapshot file. The caller holds the server's write lock, so no write is half in."""
    target = snapshot_path(db_path)
    tmp = target.with_name(target.name + ".tmp")
    for stale in (tmp, Path(str(tmp) + ".wal")):
        stale.unlink(missing_ok=True)
    name = con.execute("SELECT current_database()").fetchone()[0]
    con.execute(f"ATTACH '{tmp.as_posix()}' AS {ALIAS}")
    try:
        con.execute(f'COPY FROM DATABASE "{name}" TO {ALIAS}')
    finally:
        con.execute(f"DETACH {ALIAS}")
    os.replace(tmp, target)
    return target


from .db import WarehouseBusy  # noqa: E402


class NoSnapshot(WarehouseBusy):
    """The warehouse is held by the server and it has written no snapshot (Chinese message)."""


def connect_for_reading(db_path, wait_s: float = WAIT_S):
    """(connection, note): the warehouse read-only, or — while the server holds it — a copy the
    server writes for this command, with a Chinese note saying when it was taken. Raises
    WarehouseBusy's subclass NoSnapshot when the server does not answer within `wait_s`."""
    import time

    from pipelines import db
    try:
        return db.connect(db_path, read_only=True), None
    except db.WarehouseBusy:
        snap, req = snapshot_path(db_path), request_path(db_path)
        asked = time.time()
        req.write_text(f"{os.getpid()} {asked}\n")
        while time.time() - asked < wait_s:
            if snap.exists() and snap.stat().st_mtime >= asked - 0.01 and not req.exists():
                break
            time.sleep(0.1)
        else:
            req.unlink(missing_ok=True)
            raise NoSnapshot(f"数据仓库 {db_path} 正被看板服务占用，服务在 {wait_s:.0f} 秒内没有写出只读快照"
                             f"（{snap.name}）：请确认看板服务正在运行，或从网页导出") from None
        taken = dt.datetime.fromtimestamp(snap.stat().st_mtime)
        con = db.connect(snap, read_only=True)
        return con, (f"看板服务正在运行，本次读取的是它在 {taken:%Y-%m-%d %H:%M:%S} 为本命令保存的只读快照"
                     f"（{snap.name}），该时刻之后提交的数据不在其中")
