"""Targets and region-tree maintenance through Excel (pipelines.catalog.target_sheets / region_sheets):
round trips change nothing, every problem is reported with its cell, edits are diffed and
applied versioned with origin 'web:<user>'."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook

from pipelines.catalog import region_sheets, target_sheets
from pipelines.catalog.target_sheets import SheetError


@pytest.mark.parametrize("plan", ["chenzhou-2022", "gulou-2022", "jining-2023", "ningde-2022", "wenling-2023"])
def test_plan_workbook_round_trip_changes_nothing(con, tmp_path, plan):
    path = tmp_path / f"{plan}.xlsx"
    target_sheets.write_plan_sheet(con, plan, path)
    edit = target_sheets.read_plan_workbook(con, path)
    stored = con.execute("SELECT count(*) FROM targets WHERE plan_code = ? AND valid_to IS NULL",
                         [plan]).fetchone()[0]
    assert len(edit.targets) == stored > 0
    assert target_sheets.diff_plan(con, edit) == []


def _ningde(con, tmp_path):
    path = tmp_path / "ningde.xlsx"
    target_sheets.write_plan_sheet(con, "ningde-2022", path)
    wb = load_workbook(path)
    return path, wb, wb["目标"]


def test_every_problem_is_reported_with_its_cell(con, tmp_path):
    path, wb, ws = _ningde(con, tmp_path)
    assert ws["A2"].value == "evoucher_activation_rate" and ws["G2"].value == 70
    ws["G3"] = "七十"                 # not a number
    ws["F4"] = "<="                   # wrong way for a higher-is-better indicator
    ws["C5"] = "999999"               # unknown region
    ws["A6"] = "no_such_indicator"
    ws["G2"] = 170                    # a percentage above 100
    wb.save(path)
    with pytest.raises(SheetError) as err:
        target_sheets.read_plan_workbook(con, path)
    problems = err.value.problems
    assert len(problems) == 5, problems
    for cell in ("目标!G3:", "目标!F4:", "目标!C5:", "目标!A6:", "目标!G2:"):
        assert any(p.startswith(cell) for p in problems), (cell, problems)
    # nothing changed
    assert con.execute("SELECT count(*) FROM targets WHERE origin LIKE 'web:%'").fetchone()[0] == 0


def test_a_misspelt_or_foreign_column_is_an_error_at_its_cell_with_the_right_name(con, tmp_path):
    from pipelines.catalog.suggest import closest
    path, wb, ws = _ningde(con, tmp_path)
    assert ws["L1"].value == "口径" and ws["M1"].value == "判定"
    ws["L1"] = "口经"                 # a typo: the basis would be read as missing
    ws["M1"] = "判断"                 # an optional column misspelt: must not be dropped silently
    ws["P1"] = "备用"                 # a column the sheet does not have
    wb.save(path)
    with pytest.raises(SheetError) as err:
        target_sheets.read_plan_workbook(con, path)
    problems = err.value.problems
    assert any(p.startswith("目标!L1: 未知列“口经”：是否应为“口径”？") for p in problems), problems
    assert any(p.startswith("目标!M1: 未知列“判断”：是否应为“判定”？") for p in problems), problems
    assert any(p.startswith("目标!P1: 未知列“备用”（本表的列") and "请改正列名，或删除该列" in p
               for p in problems), problems
    assert con.execute("SELECT count(*) FROM targets WHERE origin LIKE 'web:%'").fetchone()[0] == 0
    assert closest("bais", {"basis", "judge"}) == "basis" and closest("Basis", {"basis"}) == "basis"
    assert closest("zzz", {"basis", "judge"}) is None


def test_edit_is_diffed_and_applied_versioned(con, tmp_path):
    path, wb, ws = _ningde(con, tmp_path)
    ws["G2"] = 75                                  # activation rate target 70 → 75
    removed_key = ws["A3"].value
    ws.delete_rows(3)                              # retire one target
    wb.save(path)
    edit = target_sheets.read_plan_workbook(con, path)
    changes = target_sheets.diff_plan(con, edit)
    kinds = sorted(c["change"] for c in changes)
    assert kinds == ["修改", "停用"]
    changed = next(c for c in changes if c["change"] == "修改")
    assert changed["fields"] == {"value": (70.0, 75.0)}
    assert next(c for c in changes if c["change"] == "停用")["key"].split("|")[1] == removed_key
    assert target_sheets.apply_plan(con, edit, "admin") == changes
    rows = con.execute("SELECT value, origin, valid_to IS NULL FROM targets WHERE target_key = ? "
                       "ORDER BY target_id", [changed["key"]]).fetchall()
    assert rows == [(70.0, "targets/ningde-2022", False), (75.0, "web:admin", True)]
    assert target_sheets.diff_plan(con, edit) == []
    audit = con.execute("SELECT actor, subject FROM audit_log WHERE action = 'targets.apply'").fetchall()
    assert audit == [("admin", "ningde-2022")]
    # the metrics see the new target
    from pipelines.metrics import Metrics
    t = Metrics(con).targets_table("350900")
    current = t[(t.indicator_code == "evoucher_activation_rate") & (t.plan_code == "ningde-2022")]
    assert current["value"].tolist() == [75.0]


def test_region_tree_round_trip_and_edit(con, tmp_path):
    path = tmp_path / "regions.xlsx"
    region_sheets.write_region_sheet(con, path)
    assert region_sheets.diff_regions(con, region_sheets.read_region_workbook(path)) == []
    wb = load_workbook(path)
    ws = wb["地区"]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "350902")
    row[1].value = "蕉城区（新）"
    ws.append(["350900902", "三都澳新区", "350900", "新区", "三都澳"])
    ws.append(["350900903", "重名区", "350900", "区", "福安"])        # alias of 福安市 already
    ws.append(["350900904", "孤岛", "999", "区", None])
    wb.save(path)
    with pytest.raises(SheetError) as err:
        region_sheets.read_region_workbook(path)
    assert len(err.value.problems) == 2
    assert any("C" in p.split(":")[0] and "999" in p for p in err.value.problems)
    assert any("福安" in p and p.startswith("地区!A") for p in err.value.problems)
    ws.delete_rows(ws.max_row - 1, 2)
    wb.save(path)
    regions = region_sheets.read_region_workbook(path)
    changes = region_sheets.apply_regions(con, regions, "admin")
    assert sorted((c["change"], c["key"]) for c in changes) == [("修改", "350902"), ("新增", "350900902")]
    assert con.execute("SELECT name FROM regions WHERE code = '350902'").fetchone()[0] == "蕉城区（新）"
    assert con.execute("SELECT region_code FROM region_aliases WHERE alias = '三都澳'").fetchone()[0] == "350900902"


def test_region_edits_made_on_the_web_survive_init(warehouse_path, tmp_path):
    from pipelines import db
    from pipelines.warehouse import init_warehouse
    con = db.connect(warehouse_path)
    try:
        path = tmp_path / "regions.xlsx"
        region_sheets.write_region_sheet(con, path)
        wb = load_workbook(path)
        ws = wb["地区"]
        row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "350902")
        row[1].value = "蕉城区（新）"
        ws.append(["350900902", "三都澳新区", "350900", "新区", "三都澳"])
        gone = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "350900901")
        ws.delete_rows(gone[0].row, 1)                                    # 东侨 retired
        wb.save(path)
        changes = region_sheets.apply_regions(con, region_sheets.read_region_workbook(path), "admin")
        assert {(c["change"], c["key"]) for c in changes} == {
            ("停用", "350900901"), ("修改", "350902"), ("新增", "350900902")}
    finally:
        con.close()
    stats = init_warehouse(warehouse_path)                                # targets/ loaded again
    assert stats["region_edits_kept"] == 3
    con = db.connect(warehouse_path)
    try:
        names = dict(con.execute("SELECT code, name FROM regions").fetchall())
        active = dict(con.execute("SELECT code, active FROM regions").fetchall())
        assert names["350902"] == "蕉城区（新）" and names["350900902"] == "三都澳新区"
        assert active["350900901"] is False and active["350900902"] is True
        assert con.execute("SELECT region_code FROM region_aliases WHERE alias = '三都澳'").fetchone() == ("350900902",)
        region_sheets.write_region_sheet(con, tmp_path / "again.xlsx")  # the tree as the web left it
        assert region_sheets.diff_regions(con, region_sheets.read_region_workbook(path)) == []
    finally:
        con.close()


def test_uploaded_sheets_are_read_by_a_bounded_worker_and_hostile_ones_refused(con, tmp_path):
    """The admin's target and region sheets take the returns' path: a worker reads them, with the
    same pre-checks and format names; one pool serves several sheets."""
    import ooxml_factory as f
    from pipelines.returns.parse_worker import ParsePool
    plan = tmp_path / "宁德.xlsx"
    target_sheets.write_plan_sheet(con, "ningde-2022", plan)
    regions = tmp_path / "地区.xlsx"
    region_sheets.write_region_sheet(con, regions)
    with ParsePool() as pool:
        edit = target_sheets.read_plan_workbook(con, (plan.name, plan.read_bytes()), parser=pool)
        assert edit.plan_code == "ningde-2022" and target_sheets.diff_plan(con, edit) == []
        assert region_sheets.diff_regions(con, region_sheets.read_region_workbook(regions, parser=pool)) == []
        for name, data, words in (("目标.xlsx", f.far_cell(strict=True), "Sheet1: 无法读取文件：工作表有 1048576 行"),
                                  ("地区.xlsx", f.ods(), ".ods"),
                                  ("地区.xlsx", f.many_far_sheets(), "合计 160,000,000 个单元格")):
            with pytest.raises(SheetError) as err:
                region_sheets.read_region_workbook((name, data), parser=pool)
            assert len(err.value.problems) == 1 and words in err.value.problems[0], err.value.problems


def _hostile_workbooks() -> list[tuple[str, bytes, str]]:
    """The hostile files of test_reliability_hostile.py, as (name, bytes, words of the refusal)."""
    import test_reliability_hostile as h
    from test_reliability_kit import SHEET_HEAD, SHEET_TAIL, raw_xlsx, sheet_rows_xml
    rows = sheet_rows_xml(h.HEADER + [["蕉城区", "2024-01", "x", 1, 2]] * 120_000)
    laughs_sheet = h.LAUGHS + (SHEET_HEAD + sheet_rows_xml(h.HEADER)
                               + b'<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
                               + SHEET_TAIL)[len(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'):]
    depth = 200_000
    nested = (SHEET_HEAD + sheet_rows_xml(h.HEADER) + b'<row r="2"><c r="A2" t="inlineStr"><is>'
              + b"<r>" * depth + b"</r>" * depth + b"</is></c></row>" + SHEET_TAIL)
    return [
        ("bomb.xlsx", raw_xlsx(h._bomb_xml(300)), "压缩炸弹"),
        ("liar.xlsx", h._lie_about_sizes(raw_xlsx(SHEET_HEAD + rows + SHEET_TAIL),
                                         "xl/worksheets/sheet1.xml", 1024), "无法读取文件"),
        ("laughs.xlsx", raw_xlsx(laughs_sheet), "无法读取文件"),
        ("nested.xlsx", raw_xlsx(nested), None),      # read whole by the worker: refused for its content
        ("huge.xlsx", raw_xlsx(SHEET_HEAD + sheet_rows_xml(h.HEADER + [["a", 1]] * 100_001) + SHEET_TAIL),
         "100002 行"),
    ]


def test_hostile_workbooks_are_refused_by_every_admin_sheet_reader(con):
    """Targets, regions, contacts and accounts sheets: each hostile file gives one Chinese
    refusal naming the problem, read by a bounded worker; nothing in the warehouse changes."""
    import re

    from pipelines.accounts.account_sheets import read_accounts_workbook
    from pipelines.returns.parse_worker import ParsePool
    from pipelines.workflow.contacts import read_contacts_workbook
    counts = lambda: con.execute("SELECT (SELECT count(*) FROM targets), (SELECT count(*) FROM regions), "  # noqa: E731
                                 "(SELECT count(*) FROM users), (SELECT count(*) FROM region_contacts)").fetchone()
    before = counts()
    readers = {"目标": lambda src, pool: target_sheets.read_plan_workbook(con, src, parser=pool),
               "地区": lambda src, pool: region_sheets.read_region_workbook(src, parser=pool),
               "联系人": lambda src, pool: read_contacts_workbook(con, src, parser=pool),
               "账户": lambda src, pool: read_accounts_workbook(con, src, parser=pool)}
    with ParsePool() as pool:
        for name, data, words in _hostile_workbooks():
            for kind, read in readers.items():
                with pytest.raises(SheetError) as err:
                    read((name, data), pool)
                problems = err.value.problems
                if words is not None:
                    assert len(problems) == 1 and words in problems[0], (kind, name, problems)
                assert re.search(r"[\u4e00-\u9fff]", problems[0]) and "lollol" not in problems[0]
    assert counts() == before


def test_sheet_problems_name_the_columns_not_the_yaml_keys(con, tmp_path):
    """A target sheet's reader sees 比较符, 口径, 年度…; no YAML key (comparator, basis…) in its errors."""
    import re
    path, wb, ws = _ningde(con, tmp_path)
    assert [ws.cell(1, c).value for c in (6, 8, 9, 12)] == ["比较符", "年度", "截止日期", "口径"]
    ws["F2"] = "≥"                    # not a comparator (the sheet wants >=)
    ws["L3"] = "monthly"              # not a basis
    ws["I4"] = "2025-12-31"           # a deadline beside the row's year: two timings
    ws["G5"] = "七十"
    wb.save(path)
    with pytest.raises(SheetError) as err:
        target_sheets.read_plan_workbook(con, path)
    problems = err.value.problems
    by_cell = {p.split(":", 1)[0]: p.split(": ", 1)[1] for p in problems}
    assert by_cell["目标!F2"] == "比较符应为 >= 或 <=（现为“≥”）", problems
    assert by_cell["目标!L3"] == "口径“monthly”应为 period（当期）、ytd（累计）或 year（全年）", problems
    assert by_cell["目标!H4"] == "年度、截止日期、起始日期必须且只能填一项（现在填了年度、截止日期）", problems
    assert by_cell["目标!G5"] == "目标值“七十”不是数字", problems
    assert len(problems) == 4, problems                      # each mistake said once
    for p in problems:
        assert not re.search(r"\b(comparator|basis|value|judge|effective|deadline|from)\b", p), p
