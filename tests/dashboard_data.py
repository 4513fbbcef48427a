"""Hand-made returns for the dashboard tests: 宁德市, 2024-01..06, two monthly indicators.

Numbers are chosen so that tests can compute the expected figures by hand:
  activation (stock, target ≥ 70 %): district i, month m → denominator 100000 + 10000·i,
      numerator = denominator × (0.60 + 0.03·i + 0.005·m)
  settlement (flow, target ≥ 30 % year-to-date): district i, month m → denominator 2000 + 100·i,
      numerator = denominator × (0.25 + 0.01·i + 0.01·m)
柘荣县 (350926) reports nothing (未报送). 蕉城区's June activation is revised by a second file.
"""
from __future__ import annotations

import datetime as dt

from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
from pipelines.periods import month

NINGDE = "350900"
DISTRICTS = ["350902", "350981", "350982", "350921", "350922", "350923", "350924", "350925",
             "350900901"]                 # every child of 宁德市 except 柘荣县 (350926)
SILENT = "350926"
ACTIVATION = "evoucher_activation_rate"
SETTLEMENT = "evoucher_settlement_rate"
REVISED_NUMERATOR = 72000.0              # 蕉城区 2024-06 activation after correction


def activation(i: int, m: int) -> tuple[float, float]:
    den = 100000.0 + 10000.0 * i
    return round(den * (0.60 + 0.03 * i + 0.005 * m)), den


def settlement(i: int, m: int) -> tuple[float, float]:
    den = 2000.0 + 100.0 * i
    return round(den * (0.25 + 0.01 * i + 0.01 * m)), den


def file_name(m: int) -> str:
    return f"宁德市_2024年{m}月_便民服务指标.xlsx"


def load_ningde(con, months=range(1, 7), revise: bool = True) -> None:
    """Load one long-table file per month, then (optionally) the correction of 蕉城区 June."""
    base = dt.datetime(2024, 1, 5, 9, 0)
    for m in months:
        rows = []
        for i, code in enumerate(DISTRICTS):
            r = 3 + 2 * i
            num, den = activation(i, m)
            rows.append(ReturnRow(code, ACTIVATION, month(2024, m), num, den, sheet="汇总",
                                  row_number=r, numerator_cell=f"D{r}", denominator_cell=f"E{r}"))
            num, den = settlement(i, m)
            rows.append(ReturnRow(code, SETTLEMENT, month(2024, m), num, den, sheet="汇总",
                                  row_number=r + 1, numerator_cell=f"D{r + 1}",
                                  denominator_cell=f"E{r + 1}"))
        meta = SubmissionMeta(file_name=file_name(m), content_hash=f"hash-{m}", uploaded_by="市局综合科")
        load_rows(con, rows, meta, now=base.replace(month=m + 1 if m < 12 else 12))
    if revise:
        den = activation(0, 6)[1]
        fix = ReturnRow("350902", ACTIVATION, month(2024, 6), REVISED_NUMERATOR, den, sheet="更正",
                        row_number=7, numerator_cell="C7", denominator_cell="D7")
        load_rows(con, [fix], SubmissionMeta(file_name="蕉城区_2024年6月_更正.xlsx",
                                             content_hash="hash-fix", uploaded_by="蕉城区医保局"),
                  now=dt.datetime(2024, 7, 20, 15, 30))
    approve_loaded(con)


def approve_loaded(con) -> None:
    """The test data counts as reviewed (通过 at its upload time), as the demo's does."""
    from pipelines.workflow.review import approve_all_pending
    approve_all_pending(con, "测试数据", "测试数据：视为审核通过", at_upload=True)


def create_app(db_path):
    """`app.create_app` from the repository root (app.py is a script, not an installed module)."""
    import importlib.util
    import sys
    from pathlib import Path
    module = sys.modules.get("app")
    if module is None:
        spec = importlib.util.spec_from_file_location("app", Path(__file__).resolve().parent.parent / "app.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["app"] = module
        spec.loader.exec_module(module)
    return module.create_app(db_path)
