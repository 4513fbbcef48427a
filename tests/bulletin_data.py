"""The 宁德市 returns the bulletin tests share, and one bulletin written by the real CLI.

Expected numbers are worked out by hand below.

Returns loaded (denominators 10 000 for the activation rate, 50 for full-online items):
  医保电子凭证激活率 (monthly, stock: the quarter takes September), target ≥ 70 %:
    Sep: 蕉城 7500 → revised to 7600 on 10-12, 福安 7200, 福鼎 7100, 霞浦 6900, 古田 7000,
         屏南 6500, 寿宁 7300, 周宁 6000; 柘荣县 and 东侨 never report.
    8 of the 10 units reported, so the city's roll-up is 数据不全 — shown, not rated:
    (7600+7200+7100+6900+7000+6500+7300+6000) / 80000 = 55600/80000 = 69.50 %, "10个县（市、区）
    中8个数据齐全". 周宁县 is last (60.00 %). Jun: everyone 7000 except 周宁 6120; 周宁 is short in
    Q2 and Q3: 连续两个季度未达标 (屏南 only in Q3).
  全程网办事项占比 (quarterly, stock), target ≥ 80 %, all 10 units report (of 50 each):
    Q3 蕉城 45, 福安 40, 周宁 30, the other seven 37 → (115 + 259) / 500 = 74.80 %, gap −5.20,
    完成率 93.5 %, 未达标. Q2 蕉城 45, 福安 40, 周宁 35, the others 40 → 400/500 = 80.00 % 达标,
    so Q3 is 5.20 pp down.

`write_with_cli(base)` builds that warehouse and runs `python -m pipelines bulletin` once with
--issue-date 2024-10-15 --serial 12 --per-region (the session fixture `ningde_bulletin`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from pipelines.periods import month, quarter

ROOT = Path(__file__).resolve().parent.parent
ACT, FULL = "evoucher_activation_rate", "full_online_items_rate"
SEP = {"350902": 7500, "350981": 7200, "350982": 7100, "350921": 6900, "350922": 7000,
       "350923": 6500, "350924": 7300, "350925": 6000}
JUN = {**{c: 7000 for c in SEP}, "350925": 6120}
ALL = ["350902", "350981", "350982", "350921", "350922", "350923", "350924", "350925", "350926",
       "350900901"]
FULL_Q3 = {**{c: 37 for c in ALL}, "350902": 45, "350981": 40, "350925": 30}
FULL_Q2 = {**{c: 40 for c in ALL}, "350902": 45, "350981": 40, "350925": 35}


def _load(con, name, rows, when, channel="cli"):
    from pipelines.returns.load import SubmissionMeta, load_rows
    digest = hashlib.sha256(f"{name}{when}".encode()).hexdigest()
    load_rows(con, rows, SubmissionMeta(name, digest, "tester", channel), now=when)


def build_warehouse(path: Path) -> None:
    from pipelines import db
    from pipelines.returns.load import ReturnRow
    from pipelines.warehouse import init_warehouse
    init_warehouse(path)
    con = db.connect(path)
    try:
        monthly = [(6, JUN, dt.datetime(2024, 7, 5)),
                   (7, {c: v - 200 for c, v in SEP.items()}, dt.datetime(2024, 8, 5)),
                   (8, {c: v - 100 for c, v in SEP.items()}, dt.datetime(2024, 9, 20)),   # late
                   (9, SEP, dt.datetime(2024, 10, 8))]
        for m, values, when in monthly:
            _load(con, f"激活率_{m}月.xlsx",
                  [ReturnRow(c, ACT, month(2024, m), v, 10000, sheet="Sheet1", row_number=i + 2,
                             numerator_cell=f"D{i + 2}", denominator_cell=f"E{i + 2}")
                   for i, (c, v) in enumerate(values.items())], when)
        _load(con, "蕉城区_9月_更正.xlsx", [ReturnRow("350902", ACT, month(2024, 9), 7600, 10000)],
              dt.datetime(2024, 10, 12))
        for q, values, when in ((2, FULL_Q2, dt.datetime(2024, 7, 10)),
                                (3, FULL_Q3, dt.datetime(2024, 10, 10))):
            _load(con, f"全程网办_Q{q}.xlsx",
                  [ReturnRow(c, FULL, quarter(2024, q), v, 50) for c, v in values.items()], when,
                  channel="demo")
        from pipelines.workflow.review import approve_all_pending      # reviewed, as the demo's
        approve_all_pending(con, "测试数据", "测试数据：视为审核通过", at_upload=True)
    finally:
        con.close()


def _env():
    env = dict(os.environ)
    env["GX_ANALYTICS_ENABLED"] = "false"
    env["PYTHONPATH"] = str(ROOT)
    return env


def write_with_cli(base: Path) -> dict:
    """Warehouse + the bulletin written by the real CLI (docx, xlsx, pdf, notices)."""
    db_path = base / "warehouse.duckdb"
    build_warehouse(db_path)
    out = base / "out"
    proc = subprocess.run([sys.executable, "-m", "pipelines", "bulletin", "--db", str(db_path),
                           "--quarter", "2024Q3", "--region", "宁德市", "--issue-date", "2024-10-15",
                           "--serial", "12", "--per-region", "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "已生成2024年第三季度通报" in proc.stdout
    stem = "宁德市_2024Q3_医保便民服务指标通报"
    return {"base": base, "db": db_path, "out": out, "docx": out / f"{stem}.docx",
            "xlsx": out / f"{stem}_附表.xlsx", "pdf": out / f"{stem}.pdf"}
