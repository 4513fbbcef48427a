"""报送率: the reporting-rate summary (DHIS2's "reporting rate summary") of one year's returns.

Built on `Metrics.submission_status` (who owes a return at a frequency, from who reports what,
and when each return is due, from the `due_day.<频度>` settings): nothing here decides who owes
what or when it is due; it only counts that table's rows. Per owing region and period, at the
moment `as_of`:

- 应报 `owed`: the return's due date has passed (due_date < the as_of day);
- 已报 `received`: owed and in (按时, 已更正 or 逾期); 按时报 `on_time`: in by its due date
  (按时 and 已更正 — a correction does not make an on-time return late); 逾期报 `late`: first
  in after its due date; 未报 `missing`: owed and nothing in (未报送);
- 未到期 `not_due`: not due yet (counted in no rate), of which `early` already in (提前报送).

Rates are percentages of `owed` (None where nothing is owed yet): 报送率 `completeness` =
received / owed, 及时率 `timeliness` = on_time / owed, 逾期率 `late_rate`, 未报率 `missing_rate`.
Rates over several regions or periods are computed from the summed counts, never averaged.
A region that does not owe a return at the frequency is not counted, even if it sent one.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pandas as pd

COUNT_COLUMNS = ["owed", "received", "on_time", "late", "missing", "not_due", "early"]
RATE_COLUMNS = ["completeness", "timeliness", "late_rate", "missing_rate"]
REGION_COLUMNS = ["region_code", "region_name", *COUNT_COLUMNS, *RATE_COLUMNS]
PERIOD_COLUMNS = ["period", "due_date", *COUNT_COLUMNS, *RATE_COLUMNS]
LABELS = {"region_name": "地区", "period": "期间", "due_date": "截止日期", "owed": "应报",
          "received": "已报", "on_time": "按时报", "late": "逾期报", "missing": "未报",
          "not_due": "未到期", "early": "提前报", "completeness": "报送率", "timeliness": "及时率",
          "late_rate": "逾期率", "missing_rate": "未报率"}
_RECEIVED = ("按时", "已更正", "逾期")
_ON_TIME = ("按时", "已更正")


@dataclass
class ReportingRate:
    """One jurisdiction, year and frequency: counts and rates per region, per period, in all."""
    jurisdiction: str
    year: int
    frequency: str
    as_of: dt.date
    regions: pd.DataFrame          # REGION_COLUMNS, tree order
    periods: pd.DataFrame          # PERIOD_COLUMNS, in period order
    total: dict                    # COUNT_COLUMNS + RATE_COLUMNS over the year

    def through(self, periods) -> dict:
        """Counts and rates over `periods` only (e.g. January to the end of a quarter: what a
        quarterly bulletin reports of the year so far), from the per-period counts."""
        wanted = {str(p) for p in periods}
        sel = self.periods[self.periods["period"].astype(str).isin(wanted)]
        counts = {k: int(sel[k].sum()) if not sel.empty else 0 for k in COUNT_COLUMNS}
        return counts | rates(counts)

    def as_json(self) -> dict:
        return {"jurisdiction": self.jurisdiction, "year": self.year, "frequency": self.frequency,
                "as_of": self.as_of.isoformat(), "total": _clean(self.total),
                "regions": [_clean(r) for r in self.regions.to_dict("records")],
                "periods": [_clean(r) for r in self.periods.to_dict("records")]}


def _clean(rec: dict) -> dict:
    out = {}
    for k, v in rec.items():
        if k in COUNT_COLUMNS:
            out[k] = int(v)
        elif k in RATE_COLUMNS:
            out[k] = None if v is None or v != v else round(float(v), 2)
        elif isinstance(v, (dt.date, pd.Timestamp)):
            out[k] = pd.Timestamp(v).strftime("%Y-%m-%d")
        else:
            out[k] = v
    return out


def rates(counts: dict) -> dict:
    """The four rates (percent) of a dict of counts; None where nothing is owed."""
    owed = counts["owed"]

    def pct(n):
        return None if owed == 0 else 100.0 * n / owed
    return {"completeness": pct(counts["received"]), "timeliness": pct(counts["on_time"]),
            "late_rate": pct(counts["late"]), "missing_rate": pct(counts["missing"])}


def _counts(rows: pd.DataFrame) -> dict:
    due = rows["due"]
    status = rows["status"]
    c = {"owed": int(due.sum()),
         "received": int((due & status.isin(_RECEIVED)).sum()),
         "on_time": int((due & status.isin(_ON_TIME)).sum()),
         "late": int((due & (status == "逾期")).sum()),
         "missing": int((due & (status == "未报送")).sum()),
         "not_due": int((~due).sum()),
         "early": int((~due & status.isin(_RECEIVED)).sum())}
    return c | rates(c)


def reporting_rate(m, jurisdiction: str, year: int, frequency: str = "月度") -> ReportingRate:
    """The 报送率 summary of `jurisdiction`'s `frequency` returns of `year`, as of m.as_of."""
    from .reference import owing_returns
    jur = m.resolve_region(jurisdiction)
    today = (m.as_of or dt.datetime.now()).date()
    status = m.submission_status(jur, int(year), frequency)
    owing = owing_returns(m, jur, frequency)
    rows = status[status["region_code"].isin(owing)].copy()
    rows["due"] = [pd.Timestamp(d).date() < today for d in rows["due_date"]]
    by_region = []
    for code in owing:
        sel = rows[rows["region_code"] == code]
        if sel.empty:
            continue
        by_region.append({"region_code": code, "region_name": sel["region_name"].iloc[0]} | _counts(sel))
    by_period = []
    for period in dict.fromkeys(rows["period"]):
        sel = rows[rows["period"] == period]
        by_period.append({"period": period, "due_date": pd.Timestamp(sel["due_date"].iloc[0]).date()}
                         | _counts(sel))
    zero = {k: 0 for k in COUNT_COLUMNS}
    total = _counts(rows) if not rows.empty else zero | rates(zero)
    return ReportingRate(jur, int(year), frequency, today,
                         pd.DataFrame(by_region, columns=REGION_COLUMNS),
                         pd.DataFrame(by_period, columns=PERIOD_COLUMNS), total)


# --- `python -m pipelines reporting-rate` -----------------------------------------------------

class RateUsageError(ValueError):
    """A wrong argument of the reporting-rate command or API; the message is Chinese."""


FREQUENCIES = ("月度", "季度", "年度")


def checked_args(m, region, year, frequency) -> tuple[str, int, str]:
    """(jurisdiction code, year, frequency) from user input; RateUsageError (Chinese) if wrong."""
    try:
        code = m.resolve_region(region)
    except ValueError as exc:
        raise RateUsageError(str(exc)) from None
    try:
        yr = int(str(year).strip())
    except ValueError:
        raise RateUsageError(f"年度“{year}”无效：请写四位数年份，如 2024") from None
    if not 2000 <= yr <= 2100:
        raise RateUsageError(f"年度“{year}”超出范围：请写 2000—2100 之间的年份")
    if frequency not in FREQUENCIES:
        raise RateUsageError(f"报表频度“{frequency}”无效：应为 月度、季度 或 年度")
    root = m.reporting().tree.jurisdiction.get(code, code)
    if root != code:
        raise RateUsageError(f"“{region}”不是辖区：报送率按辖区统计，请填写其所属辖区"
                             f"{m.reporting().tree.name.get(root, root)}（{root}）")
    return code, yr, frequency


def run(args) -> int:
    """Body of the CLI command: CSV (one row per region, or per period with --by period, then
    the year's total) or the JSON of ReportingRate.as_json."""
    import csv
    import sys

    from pipelines import db
    from ..metrics.export import GapsUsageError, parse_as_of
    from .engine import Metrics
    try:
        as_of = parse_as_of(args.as_of)
    except GapsUsageError as exc:
        raise RateUsageError(str(exc)) from None
    con = db.connect(args.db, read_only=True)
    try:
        m = Metrics(con, as_of=as_of)
        code, yr, freq = checked_args(m, args.region, args.year, args.frequency)
        rr = m.reporting_rate(code, yr, freq)
        name = m.reporting().tree.name.get(code, code)
    finally:
        con.close()
    data = rr.as_json()
    if args.format == "json":
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return 0
    key = "regions" if args.by == "region" else "periods"
    first = ["region_code", "region_name"] if key == "regions" else ["period", "due_date"]
    columns = first + COUNT_COLUMNS + RATE_COLUMNS
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for rec in data[key]:
        writer.writerow(["" if rec[c] is None else rec[c] for c in columns])
    total = dict(zip(first, (code, f"{name}（合计）") if key == "regions" else (str(yr), "")))
    writer.writerow([("" if v is None else v) for v in
                     [total[first[0]], total[first[1]]] + [data["total"][c] for c in COUNT_COLUMNS + RATE_COLUMNS]])
    return 0
