"""Reading the warehouse while the dashboard server holds it (DuckDB's one-writer rule).

A process that has the file open for writing keeps every other process out, readers too. So
the server keeps a consistent copy beside the warehouse — `warehouse.reader-snapshot.duckdb` —
written with `COPY FROM DATABASE` under its write lock at start and again after each committed
change (dashboards/store.py), and swapped in atomically (`os.replace`: a reader that has the
old copy open keeps reading it). The reading commands (`gaps`, `template`, `bulletin`) open the
warehouse read-only when they can and fall back to that copy when the server holds the file,
saying so on stderr; they never wait on the lock and never see a half-written file.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

SUFFIX = ".reader-snapshot.duckdb"
ALIAS = "ybjc_reader_snapshot"


def snapshot_path(db_path) -> Path:
    p = Path(db_path)
    return p.with_name(p.name[:-len(".duckdb")] + SUFFIX if p.name.endswith(".duckdb")
                       else p.name + SUFFIX)


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


def connect_for_reading(db_path):
    """(connection, note): the warehouse read-only, or — while the server holds it — its
    snapshot, with a Chinese note saying how old the snapshot is. Raises WarehouseBusy's
    subclass NoSnapshot when neither can be opened."""
    from . import db
    try:
        return db.connect(db_path, read_only=True), None
    except db.WarehouseBusy:
        snap = snapshot_path(db_path)
        if not snap.exists():
            raise NoSnapshot(f"数据仓库 {db_path} 正被看板服务占用，且服务尚未生成只读快照 {snap.name}："
                             "请稍候几秒再试，或从网页导出") from None
        taken = dt.datetime.fromtimestamp(snap.stat().st_mtime)
        con = db.connect(snap, read_only=True)
        return con, (f"看板服务正在运行，本次读取的是它在 {taken:%Y-%m-%d %H:%M:%S} 保存的只读快照"
                     f"（{snap.name}），该时刻之后提交的数据不在其中")
