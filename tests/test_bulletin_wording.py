"""The bulletin's wording rules, on a hand-built warehouse (real DuckDB, the real plans).

温岭市 2025Q4 — the last quarter of 温医保发〔2023〕13号 (years 2023–2025):
  online_availability_rate (季度, stock, ≥ 100 % in 2025): all 16 镇（街道）report 20/20 →
    100.00 % each, a 16-way tie: nobody first, nobody last; the city 320/320 = 100 % 达标.
  evoucher_settlement_rate (月度, flow, ≥ 50 %): every unit 40/100 in Oct, Nov, Dec, except
    坞根镇, which has no December → 坞根镇 数据不全; the 15 others 120/300 = 40.00 %, 10.00 pp
    short (tied); the city's roll-up is 数据不全 (15 of 16 complete), so not rated at 终期.
  chronic_cross_province_facilities (家, reported by the city itself, ≥ 25 in 2025): 22 in
    2025Q4 → 未达标, 3家 short (the deadline's period: judged on the target itself).
济宁市 2024Q1 — transfer_days (季度, mean, lower is better, ≤ 15 个工作日, standing):
  14 units (11 县（市、区）+ 3 功能区): 兖州区 100 days / 10 cases = 10.00; the 13 others
  200 / 10 = 20.00 (5.00 over, tied); the city (13·200 + 100) / 140 = 2700 / 140 = 19.29,
  4.29 个工作日 over the limit.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from pipelines.periods import month, quarter

WENLING = [f"331081{n:03d}" for n in range(1, 17)]
WUGEN = "331081016"
YANZHOU = "370812"


def _load(con, name, rows, when):
    from pipelines.returns.load import SubmissionMeta, load_rows
    digest = hashlib.sha256(f"{name}{when}".encode()).hexdigest()
    load_rows(con, rows, SubmissionMeta(name, digest, "tester", "cli"), now=when)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    from pipelines import db
    from pipelines.returns.load import ReturnRow
    from pipelines.warehouse import init_warehouse
    path = tmp_path_factory.mktemp("wording") / "warehouse.duckdb"
    init_warehouse(path)
    con = db.connect(path)
    try:
        from pipelines.metrics import Metrics
        jining_units = [c for c in Metrics(con).regions("370800")["code"] if c != "370800"]
        assert len(jining_units) == 14
        _load(con, "在线可办_Q4.xlsx", [ReturnRow(c, "online_availability_rate", quarter(2025, 4), 20, 20)
                                     for c in WENLING], dt.datetime(2026, 1, 8))
        for m in (10, 11, 12):
            rows = [ReturnRow(c, "evoucher_settlement_rate", month(2025, m), 40, 100)
                    for c in WENLING if not (m == 12 and c == WUGEN)]
            _load(con, f"结算率_{m}月.xlsx", rows, dt.datetime(2026 if m == 12 else 2025, m % 12 + 1, 5))
        _load(con, "异地就医机构_Q4.xlsx",
              [ReturnRow("331081", "chronic_cross_province_facilities", quarter(2025, 4), 22, None)],
              dt.datetime(2026, 1, 9))
        _load(con, "转移接续_Q1.xlsx",
              [ReturnRow(c, "transfer_days", quarter(2024, 1), 100 if c == YANZHOU else 200, 10)
               for c in jining_units], dt.datetime(2024, 4, 10))
    finally:
        con.close()
    return path


def _bulletin(path, q, region, issue):
    from pipelines import db
    from pipelines.bulletin.collect import collect
    from pipelines.metrics import Metrics
    con = db.connect(path, read_only=True)
    try:
        m = Metrics(con)
        return collect(m, q, region, issue_date=issue, serial=1), m.gaps(q, region=region)
    finally:
        con.close()


@pytest.fixture(scope="module")
def wenling(warehouse):
    return _bulletin(warehouse, "2025Q4", "331081", dt.date(2026, 1, 15))


@pytest.fixture(scope="module")
def jining(warehouse):
    return _bulletin(warehouse, "2024Q1", "370800", dt.date(2024, 4, 20))


def _text(b):
    from pipelines.bulletin import text as T
    from pipelines.bulletin.docx_writer import report_by
    parts = [T.intro_paragraph(b), *T.overall_short(b), T.final_paragraph(b) or "",
             T.praise_paragraph(b) or "", T.behind_paragraph(b) or "", *T.submission_short(b)]
    parts += [label + body for label, body in T.rectification(b, report_by(b))]
    return "\n".join(parts)


def test_end_of_plan_summary_and_no_promise_to_meet_it(wenling):
    b, gaps = wenling
    assert b.closes_plan and b.plan["doc_number"] == "温医保发〔2023〕13号"
    text = _text(b)
    assert ("2025年第四季度是《温岭市医疗保障服务精细化标准化管理创新试点工作方案（2023—2025年）》"
            "（温医保发〔2023〕13号）实施期的最后一个季度。") in text
    # rated at the end: 网上可办率 100 % 达标, 门诊慢特病 22 < 25 家; the rest cannot be judged
    assert "2项可以评定终期完成情况：完成终期目标1项，未完成1项：门诊慢特病跨省直接联网结算医疗机构家数低于目标值（25家）3家" in text
    assert "等10项指标数据不全或未报送，无法评定终期完成情况" in text
    assert "确保按期达标" not in text and "持续跟踪问效" not in text
    assert "方案实施期已满" in text


def test_tie_at_100_percent_names_nobody_first(wenling):
    b, gaps = wenling
    rows = gaps[(gaps["indicator_code"] == "online_availability_rate") & ~gaps["is_parent"]]
    assert set(rows["actual"]) == {100.0} and set(rows["rank"]) == {1} and len(rows) == 16
    text = _text(b)
    assert "医保服务事项“网上办”“掌上办”可办率各镇（街道）均为100.00%，全部达标" in text
    assert "居首位" not in text and "末位" not in text


def test_missing_month_is_incomplete_not_zero(wenling):
    b, gaps = wenling
    wugen = gaps[(gaps["region_code"] == WUGEN) & (gaps["indicator_code"] == "evoucher_settlement_rate")].iloc[0]
    assert wugen["status"] == "数据不全"
    text = _text(b)
    assert "医保电子凭证结算率坞根镇数据不全" in text and "不计为零" in text
    # the 15 others: 120/300 = 40.00 %, 10.00 pp short of 50 %, tied and named together
    assert "医保电子凭证结算率15个镇（街道）未达标：" in text and "均为40.00%，差10.00个百分点" in text
    assert "坞根镇均为" not in text


def test_count_gap_in_units_with_the_count_verb(wenling):
    b, _ = wenling
    text = _text(b)
    assert "门诊慢特病跨省直接联网结算医疗机构家数为22家，低于目标值（25家）3家" in text
    assert "个百分点" not in text.split("门诊慢特病跨省直接联网结算医疗机构家数：")[1].split("。")[0]


def test_lower_is_better_verbs_and_pace(jining):
    b, gaps = jining
    city = gaps[gaps["is_parent"]].iloc[0]
    assert city["actual"] == pytest.approx(2700 / 140) and city["gap"] == pytest.approx(-(2700 / 140 - 15))
    text = _text(b)
    assert "跨省转移接续平均办理时限为19.29个工作日，超出目标上限（15个工作日）4.29个工作日" in text
    # 4.2857 个工作日 over 9 remaining months: 0.48 a month, 压缩 (a time limit), never 提高
    assert "2024年剩余9个月需平均每月压缩0.48个工作日" in text and "提高" not in text
    assert "跨省转移接续平均办理时限为兖州区（10.00个工作日）" in text        # the shortest is first
    assert "等13个县（市、区）对照目标查找差距" in text
    assert "（济医保字〔2023〕25号）要求" in text


def test_recipients_come_from_the_region_tree(wenling, jining):
    from pipelines.bulletin import text as T
    assert T.recipients_line(wenling[0]) == "各镇人民政府、街道办事处："
    assert T.recipients_line(jining[0]) == \
        "各县（市、区）医疗保障局，济宁高新区，太白湖新区，济宁经济技术开发区："


def test_no_nested_brackets_anywhere(wenling, jining):
    from pipelines.bulletin import text as T
    for b, _ in (wenling, jining):
        assert T.nested_brackets(_text(b).replace("\n", "")) == []


def test_bad_input_gives_chinese_errors_and_writes_nothing(warehouse, tmp_path):
    """A quarter with no data, a future quarter, an issue date before the quarter's end, a
    malformed setting: a Chinese error and no file. One real CLI run for the exit code."""
    import shutil
    import subprocess
    import sys

    from bulletin_data import ROOT, _env
    from pipelines import db
    from pipelines.bulletin import write_bulletin
    from pipelines.bulletin.collect import BulletinInputError
    from pipelines.bulletin.settings import SettingsError
    db_copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, db_copy)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "pipelines", "bulletin", "--db", str(db_copy),
                           "--out", str(out), "--quarter", "2099Q1", "--region", "温岭市"],
                          capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=120)
    assert proc.returncode == 2 and "2099年第一季度尚未结束" in proc.stderr and not out.exists()
    con = db.connect(db_copy)
    try:
        cases = [("2023Q1", None, "2023年第一季度没有任何报送数据"),
                 ("2025Q4", dt.date(2025, 12, 20), "成文日期2025-12-20早于2025年第四季度结束")]
        for q, issue, message in cases:
            with pytest.raises(BulletinInputError, match=message):
                write_bulletin(con, q, region="温岭市", out_dir=out, issue_date=issue, pdf=False)
        con.execute("UPDATE settings SET value = '温医保〔发' WHERE key = 'bulletin.331081.doc_prefix'")
        with pytest.raises(SettingsError, match="机关代字"):
            write_bulletin(con, "2025Q4", region="温岭市", out_dir=out,
                           issue_date=dt.date(2026, 1, 15), pdf=False)
        con.execute("DELETE FROM settings WHERE key = 'bulletin.331081.printer'")
        with pytest.raises(SettingsError, match="bulletin.331081.printer"):
            write_bulletin(con, "2025Q4", region="温岭市", out_dir=out,
                           issue_date=dt.date(2026, 1, 15), pdf=False)
    finally:
        con.close()
    assert not out.exists()
