"""`python -m pipelines gaps`: the gap table as CSV or JSON (DESIGN.md "Command line").

Columns region_code, region_name, indicator_code, indicator_name, period, actual, target, gap,
status, figure_period, judged_on, reporters, expected_reporters, then more that explain the
status (DESIGN "Command line"); numbers in the indicator's unit rounded to 4 decimals, empty
(CSV) or null (JSON) where unknown.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import sys

CLI_COLUMNS = ["region_code", "region_name", "indicator_code", "indicator_name", "period",
               "actual", "target", "gap", "status", "figure_period", "judged_on", "reporters",
               "expected_reporters", "partial_reporters", "expected", "judge", "basis",
               "rank", "rank_ties", "streak", "unreviewed"]
_ROUNDED = ("actual", "target", "gap", "expected")
_WHOLE = ("reporters", "expected_reporters", "partial_reporters", "rank", "rank_ties", "streak")


class GapsUsageError(ValueError):
    """A wrong argument of the gaps command; the message is Chinese."""


def parse_as_of(text: str | None) -> dt.datetime | None:
    """`2024-05-01` (= 00:00 that day) or `2024-05-01T10:00:00`."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise GapsUsageError(f"--as-of “{text}” 无法识别：请写成 2024-05-01 或 2024-05-01T10:00:00") from None
    return value.replace(tzinfo=None)


def gap_records(m, period, region=None, basis="period") -> list[dict]:
    """Rows of the CLI table, numbers rounded to 4 decimals, None where unknown."""
    from ..periods import PeriodError, parse_period
    try:
        p = parse_period(period)
    except PeriodError as exc:
        raise GapsUsageError(f"统计期无效：{exc}") from None
    if region is not None:
        try:
            m.resolve_region(region)
        except ValueError as exc:
            raise GapsUsageError(str(exc)) from None
    frame = m.gaps(p, region=region, basis=basis)
    out = []
    for rec in frame[CLI_COLUMNS].to_dict("records"):
        for key in _ROUNDED:
            v = rec[key]
            rec[key] = None if _unknown(v) else round(float(v), 4)
        for key in _WHOLE:
            rec[key] = None if _unknown(rec[key]) else int(rec[key])
        rec["unreviewed"] = bool(rec["unreviewed"]) if not _unknown(rec["unreviewed"]) else False
        out.append(rec)
    return out


def _unknown(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def write_records(records: list[dict], fmt: str, stream=None) -> None:
    stream = stream or sys.stdout
    if fmt == "json":
        json.dump(records, stream, ensure_ascii=False, indent=1)
        stream.write("\n")
        return
    import csv
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CLI_COLUMNS)
    for rec in records:
        writer.writerow(["" if rec[c] is None else _fmt(rec[c]) for c in CLI_COLUMNS])


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if not value.is_integer() else str(int(value))
    return str(value)


def run(args) -> int:
    """Body of `python -m pipelines gaps` (args from cli.py)."""
    import sys

    from ..reader_snapshot import connect_for_reading
    from .engine import Metrics
    as_of = parse_as_of(args.as_of)
    con, note = connect_for_reading(args.db)
    if note:
        print(f"提示：{note}", file=sys.stderr)
    try:
        records = gap_records(Metrics(con, as_of=as_of), args.period, args.region, args.basis)
    finally:
        con.close()
    write_records(records, args.format)
    return 0
