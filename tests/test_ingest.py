"""Ingest end to end on a real warehouse: sample, template round trip, messy tables, rejections,
revisions, duplicates, atomicity, scope, dry run and the command line."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

import returns_factory as rf
from pipelines.returns.ingest import archive_path_for, ingest_files
from pipelines.returns.templates import write_template

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "samples" / "宁德市_2022年四季度_电子凭证激活汇总表.xlsx"
TODAY = dt.date(2025, 6, 15)


def _current(con):
    return {(reg, ind, per): (num, den) for reg, ind, per, num, den in con.execute(
        "SELECT region_code, indicator_code, period, numerator, denominator FROM return_values "
        "WHERE superseded_at IS NULL").fetchall()}


def _counts(con):
    return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("return_values", "value_lineage", "submissions"))


def _ingest(con, paths, tmp_path, **kw):
    kw.setdefault("today", TODAY)
    return ingest_files(con, paths, archive_dir=tmp_path / "raw", **kw)


def test_sample_yields_exactly_the_expected_pairs(con, tmp_path):
    expected = json.loads(SAMPLE.with_name(SAMPLE.stem + ".expected.json").read_text(encoding="utf-8"))
    [out] = _ingest(con, [SAMPLE], tmp_path)
    assert out.status == "accepted", out.line()
    assert (out.rows, out.new, out.revisions) == (30, 30, 0)
    names = dict(con.execute("SELECT code, name FROM regions").fetchall())
    got = {f"{names[reg]}|{per}": [num, den] for (reg, ind, per), (num, den) in _current(con).items()}
    assert got == {k: [float(a), float(b)] for k, (a, b) in expected["pairs"].items()}
    dec = [v for k, v in got.items() if k.endswith("2022-12")]
    assert round(100 * sum(n for n, _ in dec) / sum(d for _, d in dec), 4) == expected["宁德市 2022Q4 医保电子凭证激活率 (%)"]
    # Archived by content hash before loading; lineage names sheet and cells.
    assert Path(out.archive_path) == archive_path_for(tmp_path / "raw", out.content_hash, SAMPLE.name)
    assert Path(out.archive_path).read_bytes() == SAMPLE.read_bytes()
    霞浦 = con.execute("SELECT l.sheet, l.row_number, l.numerator_cell, l.denominator_cell FROM value_lineage l "
                     "JOIN return_values v USING (value_id) WHERE v.region_code = '350921' AND v.period = '2022-10'").fetchone()
    assert 霞浦 == ("电子凭证", 8, "E8", "F8")
    # A stock numerator that falls month on month is a warning, not an error (蕉城 11月 < 10月).
    assert any(w.cell == "E15" and "减少" in w.message for w in out.warnings)
    assert con.execute("SELECT outcome FROM audit_log WHERE action = 'ingest'").fetchall() == [("accepted",)]


def test_filled_template_round_trips_with_lineage(con, tmp_path):
    template = write_template(con, "350902", "2024-03", tmp_path / "t.xlsx")
    cells = rf.template_cells(template)
    filled = rf.fill_template(template, tmp_path / "filled.xlsx", {
        "evoucher_activation_rate": (300000, 400000), "evoucher_settlement_rate": (1200, 5000)}, as_text=True)
    [out] = _ingest(con, [filled], tmp_path, user="jc")
    assert out.status == "accepted" and out.layout == "template", out.line()
    assert _current(con) == {("350902", "evoucher_activation_rate", "2024-03"): (300000.0, 400000.0),
                             ("350902", "evoucher_settlement_rate", "2024-03"): (1200.0, 5000.0)}
    row, cell = cells["evoucher_settlement_rate"]
    lineage = con.execute("SELECT l.file_name, l.sheet, l.row_number, l.numerator_cell, l.denominator_cell "
                          "FROM value_lineage l JOIN return_values v USING (value_id) "
                          "WHERE v.indicator_code = 'evoucher_settlement_rate'").fetchone()
    assert lineage == ("filled.xlsx", "填报表", row, cell, f"D{row}")
    assert con.execute("SELECT uploaded_by, layout FROM submissions").fetchone() == ("jc", "template")


def test_template_tampered_region_names_both_cells(con, tmp_path):
    template = write_template(con, "350902", "2024-03", tmp_path / "t.xlsx")

    def tamper(wb):
        wb["填报表"]["D2"] = "350981"
        wb["填报表"]["B3"] = "2024-04"
    filled = rf.fill_template(template, tmp_path / "x.xlsx", {"evoucher_activation_rate": (1, 2)}, edit=tamper)
    before = _counts(con)
    [out] = _ingest(con, [filled], tmp_path)
    assert out.status == "rejected"
    msgs = [str(e) for e in out.errors]
    assert any(m.startswith("填报表!D2:") and "_meta!B1" in m for m in msgs)
    assert any(m.startswith("填报表!B3:") and "_meta!B2" in m for m in msgs)
    after = _counts(con)
    assert after[:2] == before[:2] and after[2] == before[2] + 1     # only the rejection is recorded


def test_messy_long_table_loads_the_right_numbers(con, tmp_path):
    path = rf.messy_long_table(tmp_path / "messy.xlsx")
    [out] = _ingest(con, [path], tmp_path)
    assert out.status == "accepted", out.line()
    assert _current(con) == rf.MESSY_EXPECTED
    assert out.rows == 8 and len(out.warnings) == 1


BAD_ROWS = [  # (row, expected cell, words in the message)
    (("蕉城区", "2024-01", "医保电子凭证激活率", "12a", 100), "D2", "不是数字"),
    (("火星区", "2024-01", "医保电子凭证激活率", 1, 100), "A2", "无法识别"),
    (("蕉城区", "2024-01", "不存在的指标", 1, 100), "C2", "无法识别"),
    (("蕉城区", 2024.1, "医保电子凭证激活率", 1, 100), "B2", "1月还是10月"),
    (("蕉城区", "2025-07", "医保电子凭证激活率", 1, 100), "B2", "尚未开始"),
    (("蕉城区", "2024-01", "医保电子凭证激活率", 1.5, 100), "D2", "整数"),
    (("蕉城区", "2024-01", "医保电子凭证激活率", -1, 100), "D2", "整数"),
    (("蕉城区", "2024-01", "医保电子凭证激活率", 10, None), "E2", "分母为空"),
    (("蕉城区", "2024-01", "医保电子凭证激活率", 10, 0), "E2", "分母为 0"),
    (("蕉城区", "2024-01", "医保电子凭证激活率", 200, 100), "D2", "大于分母"),
    (("蕉城区", "2024Q1", "二级以上定点医院医保移动支付开通家数", 3, 5), "E2", "分母应留空"),
]


@pytest.mark.parametrize("row, cell, words", BAD_ROWS)
def test_each_bad_row_is_rejected_with_sheet_and_cell(con, tmp_path, row, cell, words):
    good = ("福安市", "2024-01", "医保电子凭证激活率", 5, 10)
    path = rf.long_table(tmp_path / "bad.xlsx", [row, good])
    before = _counts(con)
    [out] = _ingest(con, [path], tmp_path)
    assert out.status == "rejected"
    assert [(e.sheet, e.cell) for e in out.errors] == [("数据", cell)], out.line()
    assert words in out.errors[0].message
    after = _counts(con)
    assert after[:2] == before[:2] and after[2] == before[2] + 1
    assert con.execute("SELECT status, archive_path IS NOT NULL FROM submissions").fetchall() == [("rejected", True)]


def test_duplicate_rows_within_a_file_name_both_rows(con, tmp_path):
    row = ("蕉城区", "2024-01", "医保电子凭证激活率", 5, 10)
    path = rf.long_table(tmp_path / "dup.xlsx", [row, ("蕉城", "2024年1月", "电子凭证激活率", 6, 10)])
    [out] = _ingest(con, [path], tmp_path)
    assert out.status == "rejected" and [e.cell for e in out.errors] == ["D2", "D3"]
    assert "数据!D2（第 2 行）、数据!D3（第 3 行）" in out.errors[0].message


@pytest.mark.parametrize("maker", [rf.empty_file, rf.csv_renamed, rf.old_xls, rf.encrypted_workbook])
def test_unreadable_files_are_rejected_and_leave_no_values(con, tmp_path, maker):
    path = maker(tmp_path / "bad.xlsx")
    [out] = _ingest(con, [path], tmp_path)
    assert out.status == "rejected" and len(out.errors) == 1 and ".xlsx 或 .xlsm" in out.errors[0].message
    assert _counts(con)[:2] == (0, 0)
    assert Path(out.archive_path).read_bytes() == path.read_bytes()


def test_resubmission_supersedes_and_keeps_history(con, tmp_path):
    first = rf.long_table(tmp_path / "a.xlsx", [("蕉城区", "2024-01", "医保电子凭证激活率", 500, 1000),
                                               ("福安市", "2024-01", "医保电子凭证激活率", 10, 20)])
    second = rf.long_table(tmp_path / "b.xlsx", [("蕉城区", "2024-01", "医保电子凭证激活率", 600, 1000),
                                                ("福安市", "2024-01", "医保电子凭证激活率", 10, 20)])
    _ingest(con, [first], tmp_path, user="a")
    [out] = _ingest(con, [second], tmp_path, user="b")
    assert (out.status, out.new, out.revisions, out.unchanged) == ("accepted", 0, 1, 1)
    history = con.execute("SELECT v.numerator, v.superseded_at IS NULL, s.uploaded_by FROM return_values v "
                          "JOIN submissions s USING (submission_id) WHERE region_code = '350902' "
                          "ORDER BY value_id").fetchall()
    assert history == [(500.0, False, "a"), (600.0, True, "b")]
    assert "更正 1" in out.line()


def test_same_file_twice_is_a_noop(con, tmp_path):
    path = rf.long_table(tmp_path / "a.xlsx", [("蕉城区", "2024-01", "医保电子凭证激活率", 500, 1000)])
    _ingest(con, [path], tmp_path)
    before = _counts(con)
    outs = _ingest(con, [path, path], tmp_path)
    assert [o.status for o in outs] == ["duplicate", "duplicate"] and "未做任何更改" in outs[0].line()
    assert _counts(con) == before


def test_crash_mid_load_leaves_no_trace(con, tmp_path):
    path = rf.long_table(tmp_path / "a.xlsx", [("蕉城区", "2024-01", "医保电子凭证激活率", 5, 10),
                                              ("福安市", "2024-01", "医保电子凭证激活率", 5, 10)])
    before = _counts(con)
    with pytest.raises(RuntimeError, match="injected"):
        _ingest(con, [path], tmp_path, fail_after=1)
    assert _counts(con) == before
    [out] = _ingest(con, [path], tmp_path)      # and the same file loads cleanly afterwards
    assert out.status == "accepted" and out.rows == 2


def test_scope_violation_rejects_the_whole_file(con, tmp_path):
    path = rf.long_table(tmp_path / "a.xlsx", [("蕉城区", "2024-01", "医保电子凭证激活率", 5, 10),
                                              ("福安市", "2024-01", "医保电子凭证激活率", 5, 10)])
    [out] = _ingest(con, [path], tmp_path, allowed_regions={"350902"}, user="jc")
    assert out.status == "rejected" and out.scope_violation
    assert [str(e) for e in out.errors][0].startswith("数据!A3: 无权报送地区“福安市”")
    assert _counts(con)[0] == 0


def test_dry_run_writes_nothing(con, tmp_path):
    path = rf.long_table(tmp_path / "a.xlsx", [("蕉城区", "2024-01", "医保电子凭证激活率", 5, 10)])
    before = _counts(con), con.execute("SELECT count(*) FROM audit_log").fetchone()
    [out] = _ingest(con, [path], tmp_path, dry_run=True)
    assert out.status == "accepted" and out.new == 1 and "未写入" in out.line()
    assert (_counts(con), con.execute("SELECT count(*) FROM audit_log").fetchone()) == before
    assert not (tmp_path / "raw").exists()


def test_batch_of_files_validates_together_and_maps_back(con, tmp_path):
    good = rf.long_table(tmp_path / "good.xlsx", [("蕉城区", "2024-01", "医保电子凭证激活率", 5, 10)])
    bad = rf.long_table(tmp_path / "bad.xlsx", [("福安市", "2024-01", "医保电子凭证激活率", 50, 10)], sheet="表1")
    outs = _ingest(con, [good, bad], tmp_path)
    assert [o.status for o in outs] == ["accepted", "rejected"]
    assert [str(e).split(":")[0] for e in outs[1].errors] == ["表1!D2"]


def test_cli_template_and_ingest(warehouse_path, tmp_path):
    env_py = [sys.executable, "-m", "pipelines"]
    out = tmp_path / "t.xlsx"
    r = subprocess.run(env_py + ["template", "--db", str(warehouse_path), "--region", "蕉城区", "--period", "2024年3月",
                                 "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and "已生成报送模板" in r.stdout, r.stderr
    filled = rf.fill_template(out, tmp_path / "f.xlsx", {"evoucher_activation_rate": (3, 4)})
    bad = rf.long_table(tmp_path / "bad.xlsx", [("蕉城区", "2024-01", "医保电子凭证激活率", "x", 10)])
    r = subprocess.run(env_py + ["ingest", "--db", str(warehouse_path), "--archive-dir", str(tmp_path / "raw"),
                                 str(filled), str(bad), "--user", "cli-test"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 1
    assert "已接收 f.xlsx：1 行（新增 1，更正 0，未变 0）" in r.stdout
    assert "退回 bad.xlsx：1 个错误" in r.stderr and "数据!D2: 分子“x”不是数字" in r.stderr
    r = subprocess.run(env_py + ["ingest", "--db", str(warehouse_path), "--archive-dir", str(tmp_path / "raw"),
                                 str(filled)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and "重复 f.xlsx" in r.stdout
    r = subprocess.run(env_py + ["template", "--db", str(warehouse_path), "--region", "火星", "--period", "2024-03",
                                 "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "未知地区“火星”" in r.stderr


def test_catalog_edit_between_batches_is_seen_by_the_next_one(con, tmp_path):
    """The checks reuse the catalog view while its tables are unchanged (validate.CatalogView
    .current): a region alias added — or a region retired — between two uploads decides the
    second one."""
    rows = [("蕉城老城区", "2024-01", "医保电子凭证激活率", 5, 10)]
    [first] = _ingest(con, [rf.long_table(tmp_path / "a.xlsx", rows)], tmp_path)
    assert first.status == "rejected" and any("蕉城老城区" in str(e) for e in first.errors)
    con.execute("INSERT INTO region_aliases VALUES ('蕉城老城区', '350902')")
    [second] = _ingest(con, [rf.long_table(tmp_path / "b.xlsx", rows)], tmp_path)
    assert second.status == "accepted", second.line()
    assert con.execute("SELECT numerator, denominator FROM return_values WHERE region_code = '350902' "
                       "AND period = '2024-01' AND superseded_at IS NULL").fetchall() == [(5, 10)]
    con.execute("UPDATE regions SET active = FALSE WHERE code = '350902'")
    [third] = _ingest(con, [rf.long_table(tmp_path / "c.xlsx", [("350902", "2024-02", "医保电子凭证激活率", 6, 10)])],
                      tmp_path)
    assert third.status == "rejected", third.line()
