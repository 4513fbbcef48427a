"""Body of `python -m pipelines bulletin --quarter Q [--region R] [--as-of T] --out DIR`."""
from __future__ import annotations

import datetime as dt
import errno
import os
import sys
from pathlib import Path


def parse_as_of(text: str | None, usage_error) -> dt.datetime | None:
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text.strip()).replace(tzinfo=None)
    except ValueError:
        raise usage_error(f"--as-of “{text}” 无法识别：请写成 2024-10-15 或 2024-10-15T10:00:00") from None


def parse_issue_date(text: str | None, usage_error) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise usage_error(f"--issue-date “{text}” 无法识别：请写成 2024-07-15") from None


def parse_serial(text: str | None, usage_error) -> int | None:
    if text is None:
        return None
    t = text.strip()
    if not t.isdigit() or not 1 <= int(t) <= 9999:
        raise usage_error(f"--serial “{text}” 无效：发文字号序号应为1—9999的整数，不编虚位（写 1，不写 001）")
    if t != str(int(t)):
        raise usage_error(f"--serial “{text}” 无效：发文字号序号不编虚位（写 {int(t)}，不写 {t}）")
    return int(t)


def run(args, usage_error) -> int:
    from pipelines import db
    from ..periods import PeriodError
    from . import write_bulletin
    from .collect import BulletinInputError, as_quarter
    from .settings import SettingsError
    try:
        quarter = as_quarter(args.quarter)
    except (PeriodError, ValueError) as exc:
        raise usage_error(f"季度无效：{exc}") from None
    out = Path(args.out)
    if out.exists() and not out.is_dir():           # before any work: nothing is written
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(out))
    as_of = parse_as_of(args.as_of, usage_error)
    issue_date = parse_issue_date(getattr(args, "issue_date", None), usage_error)
    serial = parse_serial(getattr(args, "serial", None), usage_error)
    from ..reader_snapshot import connect_for_reading
    note = None
    try:
        con = db.connect(args.db)
    except db.WarehouseBusy:            # the server holds it: read its snapshot, no audit line
        con, note = connect_for_reading(args.db)
        note += "；本次导出未写入审计日志（请从网页导出以留痕）"
        print(f"提示：{note}", file=sys.stderr)
    try:
        from ..metrics import Metrics
        if args.region is not None:
            try:
                Metrics(con).resolve_region(args.region)
            except ValueError as exc:
                raise usage_error(str(exc)) from None
        try:
            result = write_bulletin(con, quarter, region=args.region, out_dir=args.out, as_of=as_of,
                                    user=args.user, issue_date=issue_date, serial=serial,
                                    per_region=getattr(args, "per_region", False),
                                    reviewed_only=getattr(args, "reviewed_only", None),
                                    audit=note is None)
        except (BulletinInputError, SettingsError) as exc:
            raise usage_error(str(exc)) from None
    finally:
        con.close()
    sets = [result] if args.region is not None else list(result.values())
    if all(paths.get("skipped") for paths in sets):
        for paths in sets:
            for note in paths["notes"]:
                print(f"提示：{note}", file=sys.stderr)
        raise usage_error(f"{quarter.label}各辖区均没有报送数据，未生成任何通报")
    for paths in sets:
        if paths.get("skipped"):
            for note in paths["notes"]:
                print(f"提示：{note}", file=sys.stderr)
            continue
        files = "、".join(str(paths[k]) for k in ("docx", "xlsx", "pdf") if paths.get(k))
        print(f"已生成{quarter.label}通报：{files}")
        if paths.get("notices"):
            print(f"已生成一地一单通知单{len(paths['notices'])}份：{paths['notices'][0]['docx'].parent}")
        for note in paths["notes"]:
            print(f"提示：{note}", file=sys.stderr)
    return 0
