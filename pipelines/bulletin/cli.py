"""Body of `python -m pipelines bulletin --quarter Q [--region R] [--as-of T] --out DIR`."""
from __future__ import annotations

import datetime as dt
import sys


def parse_as_of(text: str | None, usage_error) -> dt.datetime | None:
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text.strip()).replace(tzinfo=None)
    except ValueError:
        raise usage_error(f"--as-of “{text}” 无法识别：请写成 2024-10-15 或 2024-10-15T10:00:00") from None


def run(args, usage_error) -> int:
    from .. import db
    from ..periods import PeriodError
    from . import write_bulletin
    from .collect import as_quarter
    try:
        quarter = as_quarter(args.quarter)
    except (PeriodError, ValueError) as exc:
        raise usage_error(f"季度无效：{exc}") from None
    as_of = parse_as_of(args.as_of, usage_error)
    con = db.connect(args.db)
    try:
        from ..metrics import Metrics
        if args.region is not None:
            try:
                Metrics(con).resolve_region(args.region)
            except ValueError as exc:
                raise usage_error(str(exc)) from None
        result = write_bulletin(con, quarter, region=args.region, out_dir=args.out, as_of=as_of,
                                user=args.user)
    finally:
        con.close()
    sets = [result] if args.region is not None else list(result.values())
    for paths in sets:
        files = "、".join(str(paths[k]) for k in ("docx", "xlsx", "pdf") if paths.get(k))
        print(f"已生成{quarter.label}通报：{files}")
        for note in paths["notes"]:
            print(f"提示：{note}", file=sys.stderr)
    return 0
