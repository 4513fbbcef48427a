"""`python -m pipelines gaps` as a real subprocess on a real warehouse file."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from pipelines import db
from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
from pipelines.periods import parse_period

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["region_code", "region_name", "indicator_code", "indicator_name", "period", "actual",
           "target", "gap", "status", "figure_period", "judged_on", "reporters", "expected_reporters"]


def gaps(db_path, *args):
    return subprocess.run([sys.executable, "-m", "pipelines", "gaps", "--db", str(db_path), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_gaps_csv_json_and_errors(warehouse_path):
    con = db.connect(warehouse_path)
    rows = [ReturnRow("350902", "evoucher_activation_rate", parse_period("2022-12"), 72, 100),
            ReturnRow("350981", "evoucher_activation_rate", parse_period("2022-12"), 660, 1000),
            ReturnRow("350902", "hospital_service_stations", parse_period("2022Q4"), 5, None)]
    load_rows(con, rows, SubmissionMeta("cli.xlsx", "cli-hash"))
    con.close()

    out = gaps(warehouse_path, "--period", "2022年第四季度", "--region", "宁德")
    assert out.returncode == 0, out.stderr
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    assert list(table[0])[:len(COLUMNS)] == COLUMNS            # DESIGN's columns, in its order
    by = {(r["region_code"], r["indicator_code"]): r for r in table}
    city = by[("350900", "evoucher_activation_rate")]
    # 2 of 10 units reported: the roll-up (732 / 1100, not the mean of rates) is shown, not rated
    assert (city["actual"], city["target"], city["gap"], city["status"]) == ("66.5455", "70", "", "数据不全")
    assert (city["figure_period"], city["judged_on"], city["reporters"], city["expected_reporters"]) == (
        "2022Q4", "period", "2", "10")
    assert city["period"] == "2022Q4" and city["region_name"] == "宁德市"
    xiapu = by[("350921", "evoucher_activation_rate")]
    assert (xiapu["actual"], xiapu["gap"], xiapu["status"], xiapu["reporters"]) == ("", "", "未报送", "0")
    assert by[("350902", "hospital_service_stations")]["status"] == "无目标"
    # the year-to-date target on 结算率 is judged on January–December even in the 当期 view
    assert by[("350902", "evoucher_settlement_rate")]["judged_on"] == "ytd"
    assert {r["region_code"] for r in table} == {"350900", "350902", "350981", "350982", "350921",
                                                 "350922", "350923", "350924", "350925", "350926",
                                                 "350900901"}

    out = gaps(warehouse_path, "--period", "2022Q4", "--region", "350900", "--format", "json",
               "--basis", "ytd")
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)
    rec = next(r for r in records if r["region_code"] == "350902"
               and r["indicator_code"] == "evoucher_activation_rate")
    assert {k: rec[k] for k in COLUMNS} == {
        "region_code": "350902", "region_name": "蕉城区", "indicator_code": "evoucher_activation_rate",
        "indicator_name": "医保电子凭证激活率", "period": "2022Q4", "actual": 72.0, "target": 70.0,
        "gap": 2.0, "status": "达标", "figure_period": "2022Q4", "judged_on": "ytd", "reporters": 1,
        "expected_reporters": 1}
    assert next(r for r in records if r["region_code"] == "350921")["actual"] is None

    roots = gaps(warehouse_path, "--period", "2022Q4", "--format", "json", "--as-of", "2999-01-01T10:00:00")
    assert roots.returncode == 0, roots.stderr
    assert {r["region_code"] for r in json.loads(roots.stdout)} == {
        "331081", "350900", "350102", "431000", "370800"}

    bad = gaps(warehouse_path, "--period", "2022Q4", "--region", "火星市")
    assert bad.returncode == 2 and "未知地区" in bad.stderr and bad.stdout == ""
    bad = gaps(warehouse_path, "--period", "2022第五季度")
    assert bad.returncode == 2 and "统计期" in bad.stderr
    bad = gaps(warehouse_path, "--period", "2022Q4", "--as-of", "昨天")
    assert bad.returncode == 2 and "--as-of" in bad.stderr
