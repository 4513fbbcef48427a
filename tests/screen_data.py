"""A full 温岭市 year for the screen tests: 16 镇街 × the city's 12 indicators, 2024.

Every region that owes an indicator (pipelines.metrics.reporting) reports every period of 2024
at the indicator's frequency, with numbers a test can compute by hand:
  rate  (%):  unit i → denominator 1000 + 10·i, numerator = denominator × (0.80 + 0.0125·i)
  count:      unit i → numerator 2 + i
Exceptions, so that the grid shows more than one kind of status:
  SILENT (the last unit) reports nothing at all (未报送);
  NO_BUSINESS reports 0/0 for every rate (无业务);
  PARTIAL misses November of the monthly indicator (数据不全 in the 2024Q4 view).
"""
from __future__ import annotations

import datetime as dt

from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
from pipelines.periods import month, quarter, year

WENLING = "331081"
PERIOD = "2024Q4"


def units(con) -> list[str]:
    """温岭's 16 镇街 in tree order."""
    return [c for (c,) in con.execute(
        "SELECT code FROM regions WHERE parent_code = ? ORDER BY sort_order, code", [WENLING]).fetchall()]


def rate(i: int) -> tuple[float, float]:
    den = 1000.0 + 10.0 * i
    return den * (0.80 + 0.0125 * i), den


def count(i: int) -> float:
    return 2.0 + i


def load_wenling(con) -> dict:
    """Load the year; returns {"units", "silent", "no_business", "partial", "indicators"}."""
    from pipelines.metrics import Metrics
    from pipelines.metrics.reporting import Reporting
    codes = units(con)
    silent, no_business, partial = codes[-1], codes[2], codes[5]
    reporting = Reporting.read(con)
    inds = Metrics(con).indicators(WENLING)
    rows = []
    for ind in inds.to_dict("records"):
        periods = {"月度": [month(2024, m) for m in range(1, 13)],
                   "季度": [quarter(2024, q) for q in range(1, 5)],
                   "年度": [year(2024)]}[ind["frequency"]]
        for region in reporting.owed_in(WENLING, ind["code"]):
            if region == silent:
                continue
            i = codes.index(region) if region in codes else 0
            for p in periods:
                if region == partial and ind["frequency"] == "月度" and p.code == "2024-11":
                    continue
                if ind["unit"] == "%":
                    num, den = (0.0, 0.0) if region == no_business else rate(i)
                else:
                    num, den = count(i), None
                r = len(rows) + 2
                rows.append(ReturnRow(region, ind["code"], p, num, den, sheet="汇总", row_number=r,
                                      numerator_cell=f"D{r}", denominator_cell=f"E{r}" if den is not None else None))
    load_rows(con, rows, SubmissionMeta(file_name="温岭市_2024年_便民服务指标.xlsx", content_hash="wl-2024",
                                        uploaded_by="市局综合科"), now=dt.datetime(2025, 1, 20, 9, 0))
    from pipelines.workflow.review import approve_all_pending
    approve_all_pending(con, "测试数据", "测试数据：视为审核通过", at_upload=True)
    from pipelines.metrics import figure_table
    figure_table.refresh(con)
    return {"units": codes, "silent": silent, "no_business": no_business, "partial": partial,
            "indicators": inds["code"].tolist()}
