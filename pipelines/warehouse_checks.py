"""What the command line says, in Chinese, when the warehouse or a path given to it is wrong.

`check_warehouse` runs before any command opens the warehouse: a missing file stops every
command but `init` (nothing is created), a directory or a file that is not DuckDB stops all of
them. The other helpers turn what can still go wrong later — DuckDB errors of a warehouse that
was never initialised, OS errors of output paths, anything unexpected — into one line of
Chinese; an unexpected error's traceback goes to a log file, never to the user's screen.
"""
from __future__ import annotations

import datetime as dt
import errno
import os
import tempfile
import traceback
from pathlib import Path

DUCKDB_MAGIC = b"DUCK"            # bytes 8-11 of every DuckDB database file
INIT = "python -m pipelines init --db {path}"
_OS_REASONS = {
    errno.EISDIR: "这是一个目录，不是文件",
    errno.ENOTDIR: "路径中的某一级不是目录",
    errno.EEXIST: "已有同名的文件",
    errno.EACCES: "没有读写权限",
    errno.EPERM: "没有权限进行此操作",
    errno.ENOSPC: "磁盘空间不足",
    errno.EROFS: "所在磁盘是只读的",
    errno.ENOENT: "不存在",
    errno.ENAMETOOLONG: "路径太长",
}


class WarehouseProblem(Exception):
    """The --db path cannot be used as a warehouse; Chinese message saying what to do."""

    @classmethod
    def from_duckdb(cls, exc: BaseException, path) -> "WarehouseProblem | None":
        """A DuckDB error seen while a command used the warehouse, said in Chinese (or None)."""
        import duckdb
        if not isinstance(exc, duckdb.Error):
            return None
        text = str(exc)
        if isinstance(exc, duckdb.CatalogException) and "does not exist" in text:
            return cls(f"数据仓库 {path} 尚未初始化（缺少数据表）：请先运行 {INIT.format(path=path)}")
        if "Permission denied" in text:
            return cls(f"没有权限读写数据仓库 {path}：请检查文件权限，或用 --db 指定其他位置")
        if "not a valid DuckDB database" in text:
            return cls(f"文件 {path} 不是 DuckDB 数据仓库：请检查 --db 参数")
        if not _initialised(path):          # a bare DuckDB file fails in whatever it is asked first
            return cls(f"数据仓库 {path} 尚未初始化（缺少数据表）：请先运行 {INIT.format(path=path)}")
        first = text.splitlines()[0][:200] if text else type(exc).__name__
        return cls(f"数据仓库 {path} 读写失败（DuckDB：{first}）：请确认文件完好、磁盘有空间，必要时从备份恢复")


def _initialised(path) -> bool:
    """Whether the DuckDB file at `path` holds a warehouse (its schema_version table); True
    when that cannot be told (the file in use by another process, say)."""
    import duckdb
    try:
        con = duckdb.connect(str(path), read_only=True)
    except Exception:                          # noqa: BLE001 - cannot tell: not the problem named
        return True
    try:
        return con.execute("SELECT count(*) FROM information_schema.tables "
                           "WHERE table_name = 'schema_version'").fetchone()[0] > 0
    finally:
        con.close()


def check_warehouse(path, must_exist: bool = True) -> None:
    """Refuse a --db path that is not a warehouse file (before anything opens or creates it)."""
    p = Path(path)
    if p.is_dir():
        raise WarehouseProblem(f"--db {p} 是一个目录，不是数据仓库文件：请指定 .duckdb 文件，如 data/warehouse.duckdb")
    if not p.exists():
        if must_exist:
            raise WarehouseProblem(f"数据仓库 {p} 不存在：请先运行 {INIT.format(path=p)}，"
                                   "或用 --db 指向已有的数据仓库文件（未创建任何文件）")
        return
    try:
        with open(p, "rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        raise WarehouseProblem(f"无法读取数据仓库 {p}：{describe_os_error(exc) or exc}") from None
    if head[8:12] != DUCKDB_MAGIC:
        raise WarehouseProblem(f"文件 {p} 不是 DuckDB 数据仓库（{p.stat().st_size} 字节，内容不是数据仓库格式）："
                               f"请检查 --db 参数；新建数据仓库请用 {INIT.format(path='新文件路径')}")


def describe_os_error(exc: OSError) -> str | None:
    """An OS error on a path the user gave, in Chinese (None when it has no errno)."""
    reason = _OS_REASONS.get(exc.errno)
    if reason is None:
        return None
    name = exc.filename if exc.filename is not None else "文件"
    return f"无法读写 {name}：{reason}：请检查命令中给出的路径后重试"


def write_crash_log(command: str | None) -> str:
    """The current exception's traceback, written to a log file for the administrator; its path."""
    stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    path = Path(tempfile.gettempdir()) / f"ybjc_error_{stamp}_{os.getpid()}.log"
    try:
        path.write_text(f"命令：{command}\n{traceback.format_exc()}", encoding="utf-8")
    except OSError:
        return "（日志无法写入）"
    return str(path)
