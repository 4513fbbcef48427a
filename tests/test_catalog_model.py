"""The typed catalog (pipelines/catalog/model.py): issues are data — file or sheet and cell,
field, message — every issue of a definition is collected at once, and a mistake reads the same
whether the definition came from targets/*.yaml or from the admin's sheet."""
from __future__ import annotations

import shutil

import pytest
import yaml
from openpyxl import load_workbook

from pipelines.catalog import region_sheets, target_sheets
from pipelines.catalog.definitions import TARGETS_DIR, CatalogError, read_catalog
from pipelines.catalog.model import Indicator, Issue, Settings, SettingsIssues
from pipelines.catalog.target_sheets import SheetError

NINGDE = "plans/ningde-2022.yaml"


def _targets(tmp_path):
    target_dir = tmp_path / "targets"
    shutil.copytree(TARGETS_DIR, target_dir)
    return target_dir


def _edit(path, change):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def test_a_yaml_with_three_mistakes_gives_three_issues_with_their_fields(tmp_path):
    target_dir = _targets(tmp_path)

    def mistakes(doc):
        first = doc["targets"][0]                      # evoucher_activation_rate @ 350900, ≥ 70
        first["comparator"] = "<="                     # 1: the wrong way for higher-is-better
        first["value"] = 170                           # 2: a percentage above 100 (same entry)
        doc["targets"][1]["bais"] = "ytd"              # 3: a misspelt key of the next entry
    _edit(target_dir / NINGDE, mistakes)
    with pytest.raises(CatalogError) as err:
        read_catalog(target_dir)
    issues = err.value.issues
    assert all(isinstance(i, Issue) for i in issues)
    assert [(i.file, i.item, i.field, i.message) for i in issues] == [
        (NINGDE, ("目标", 0), "comparator", "指标越高越好，目标比较符应为 >="),
        (NINGDE, ("目标", 0), "value", "百分比目标 170 不在 0–100 之间"),
        (NINGDE, ("目标", 1), "bais",
         "未知字段“bais”：是否应为“basis”？（允许的字段：basis、clause、comparator、deadline、effective、"
         "from、indicator、judge、region、text、tier、value、year）"),
    ]
    assert all(i.sheet is None and i.cell is None for i in issues)
    assert err.value.problems[0] == (f"{NINGDE}: 目标 #1 (evoucher_activation_rate @ 350900): "
                                     "指标越高越好，目标比较符应为 >=")
    assert err.value.problems[2].startswith(f"{NINGDE}: 目标 #2 (evoucher_settlement_rate @ 350900): 未知字段“bais”")


def test_the_same_mistakes_read_the_same_from_yaml_and_from_the_sheet(con, tmp_path):
    """Four mistakes made once in plans/ningde-2022.yaml and once in its exported sheet: the
    same four messages, the sheet's at the cell of the field (row of the target, its column)."""
    sheet = tmp_path / "ningde.xlsx"
    target_sheets.write_plan_sheet(con, "ningde-2022", sheet)
    wb = load_workbook(sheet)
    ws = wb["目标"]
    target_dir = _targets(tmp_path)
    yaml_targets = yaml.safe_load((target_dir / NINGDE).read_text(encoding="utf-8"))["targets"]
    for row, t in enumerate(yaml_targets[:4], start=2):    # the sheet lists them in file order
        assert (ws[f"A{row}"].value, ws[f"C{row}"].value) == (t["indicator"], t["region"])
    ws["F2"] = "<="                  # comparator of target #1
    ws["G3"] = "七十"                # value of target #2
    ws["C4"] = "999999"              # region of target #3
    ws["M5"] = "sometimes"           # judge of target #4
    wb.save(sheet)

    def same_mistakes(doc):
        doc["targets"][0]["comparator"] = "<="
        doc["targets"][1]["value"] = "七十"
        doc["targets"][2]["region"] = "999999"
        doc["targets"][3]["judge"] = "sometimes"
    _edit(target_dir / NINGDE, same_mistakes)

    with pytest.raises(CatalogError) as from_yaml:
        read_catalog(target_dir)
    with pytest.raises(SheetError) as from_sheet:
        target_sheets.read_plan_workbook(con, sheet)
    expected = ["指标越高越好，目标比较符应为 >=", "目标值“七十”不是数字", "未知地区 999999",
                "判定“sometimes”应为 hold（每期保持）或 reach（到期达到）"]
    assert [i.message for i in from_yaml.value.issues] == expected
    assert [i.message for i in from_sheet.value.issues] == expected
    assert [(i.sheet, i.cell, i.field) for i in from_sheet.value.issues] == [
        ("目标", "F2", "comparator"), ("目标", "G3", "value"), ("目标", "C4", "region"), ("目标", "M5", "judge")]
    assert [i.field for i in from_yaml.value.issues] == ["comparator", "value", "region", "judge"]
    assert from_sheet.value.problems == [f"目标!{c}: {m}" for c, m in zip(("F2", "G3", "C4", "M5"), expected)]
    assert con.execute("SELECT count(*) FROM targets WHERE origin LIKE 'web:%'").fetchone()[0] == 0


def test_a_region_alias_clash_reads_the_same_from_regions_yaml_and_the_region_sheet(con, tmp_path):
    sheet = tmp_path / "regions.xlsx"
    region_sheets.write_region_sheet(con, sheet)
    wb = load_workbook(sheet)
    ws = wb["地区"]
    rows = {r[0].value: r[0].row for r in ws.iter_rows(min_row=2)}
    ws[f"E{rows['350902']}"] = "蕉城、福安"             # an alias 福安市 (350981, listed after it) has
    wb.save(sheet)
    target_dir = _targets(tmp_path)

    def clash(doc):
        ningde = next(j for j in doc["jurisdictions"] if str(j["code"]) == "350900")
        jiaocheng = next(c for c in ningde["children"] if str(c["code"]) == "350902")
        jiaocheng["aliases"] = ["蕉城", "福安"]
    _edit(target_dir / "regions.yaml", clash)
    with pytest.raises(CatalogError) as from_yaml:
        read_catalog(target_dir)
    with pytest.raises(SheetError) as from_sheet:
        region_sheets.read_region_workbook(sheet)
    (y,), (s,) = from_yaml.value.issues, from_sheet.value.issues
    assert y.message == s.message == "名称或别名“福安”在同一辖区内已用于 350902"
    assert (y.file, y.field, y.item) == ("regions.yaml", "aliases", ("地区", "350981"))
    assert str(y) == "regions.yaml: 地区 350981: 名称或别名“福安”在同一辖区内已用于 350902"
    assert (s.sheet, s.cell, str(s)) == ("地区", f"A{rows['350981']}",
                                         f"地区!A{rows['350981']}: 名称或别名“福安”在同一辖区内已用于 350902")


def test_every_issue_of_indicators_yaml_at_once(tmp_path):
    """A wrong entry is still known by its code: plans naming it are not told it is unknown."""
    target_dir = _targets(tmp_path)

    def mistakes(doc):
        rate = doc["indicators"][0]                      # evoucher_activation_rate
        rate["unit"] = "元"
        rate["kind"] = "count"                            # and a count with a denominator
        rate["tolerence"] = 1
    _edit(target_dir / "indicators.yaml", mistakes)
    with pytest.raises(CatalogError) as err:
        read_catalog(target_dir)
    issues = err.value.issues
    assert {(i.file, i.field) for i in issues} == {
        ("indicators.yaml", "unit"), ("indicators.yaml", "tolerence"), ("indicators.yaml", "denominator_label")}
    assert "unit “元” 不在允许的取值 ['%', '个', '家', '工作日', '次', '项'] 中" in [i.message for i in issues]
    assert "count 类指标不应有分母" in [i.message for i in issues]
    assert not any("未知指标" in i.message for i in issues)


def test_one_indicator_type_for_the_loader_the_bulletin_and_the_demo(con):
    from pipelines.bulletin import model as bulletin_model
    from pipelines.demo.values import DemoModel
    from pipelines.metrics import Metrics
    demo = DemoModel.from_warehouse(con).indicators["evoucher_activation_rate"]
    row = Metrics(con).indicators("350900").set_index("code").loc["evoucher_activation_rate"]
    from_metrics = Indicator.from_row({"code": "evoucher_activation_rate", **row.to_dict()})
    loaded = next(i for i in read_catalog().indicators if i.code == "evoucher_activation_rate")
    assert type(demo) is type(from_metrics) is type(loaded) is Indicator
    assert bulletin_model.IndicatorSection.__dataclass_fields__["info"].type in ("Indicator", Indicator)
    for ind in (demo, from_metrics, loaded):
        assert (ind.unit, ind.kind, ind.direction, ind.is_share, ind.scale, ind.tolerance_or_default) == \
            ("%", "ratio", "higher", True, 100.0, 2.0)
    with pytest.raises(Exception):
        Indicator(**{**loaded.model_dump(), "colour": "red"})     # unknown keys are refused


def test_settings_are_typed_and_every_bad_value_named():
    s = Settings.from_rows({"due_day.月度": "10", "due_day.季度": "15", "rollup.min_share": "0.8",
                            "reminder.days_before": "5", "smtp.host": "mail.example"})
    assert (s.due_day, s.rollup_min_share, s.reminder_days_before, s.reminder_catch_up_days) == (
        {"月度": 10, "季度": 15}, 0.8, 5, 30)
    with pytest.raises(SettingsIssues) as err:
        Settings.from_rows({"due_day.月份": "10", "rollup.min_share": "1.5", "reminder.days_after": "x"})
    assert [i.message for i in err.value.issues] == [
        "due_day.月份: 未知报送频率：是否应为“月度”？（应为 月度、季度、年度）",
        "rollup.min_share “1.5” 应为大于 0、不超过 1 的小数（1 = 全部下级齐全）",
        "reminder.days_after “x” 应为 0–60 的整数（逾期后几天催报）"]


def test_the_settings_command_checks_through_the_typed_settings(warehouse_path):
    import subprocess
    import sys
    from pathlib import Path

    from pipelines import db
    root = Path(__file__).resolve().parent.parent

    def run(*assign):
        args = [a for kv in assign for a in ("--set", kv)]
        return subprocess.run([sys.executable, "-m", "pipelines", "settings", "--db", str(warehouse_path), *args],
                              capture_output=True, text=True, cwd=root)

    bad = run("rollup.min_share=0.5", "reminder.days_before=soon")
    assert bad.returncode == 2 and "reminder.days_before “soon” 应为 0–60 的整数" in bad.stderr
    assert "Traceback" not in bad.stderr
    typo = run("rollup.min_shares=0.5")
    assert typo.returncode == 2 and "是否应为“rollup.min_share”？" in typo.stderr
    con = db.connect(warehouse_path, read_only=True)
    try:       # nothing written, not even the good value beside the bad one
        assert con.execute("SELECT value FROM settings WHERE key = 'rollup.min_share'").fetchone() == ("1",)
    finally:
        con.close()
    good = run("rollup.min_share=0.5")
    assert good.returncode == 0 and "rollup.min_share\t0.5" in good.stdout


def test_an_entry_missing_fields_names_each_and_its_timing_all_at_once():
    from pipelines.catalog.model import check_plan
    cat = read_catalog()
    plan = {"code": "p", "title": "方案", "jurisdiction": "350900", "years": [2022, 2025]}
    entry = {"indicator": "evoucher_activation_rate", "region": "350900", "year": 2023,
             "deadline": "2023-06-30"}                       # no comparator, no value, two timings
    checked = check_plan({"plan": plan, "targets": [entry]}, "x.yaml",
                         {i.code: i for i in cat.indicators}, {r.code: r for r in cat.regions})
    assert checked.targets == []
    assert [(i.field, i.message) for i in checked.issues] == [
        ("comparator", "比较符应为 >= 或 <=（现为“空”）"),
        ("value", "缺少目标值（应为数字）"),
        ("year", "年度、截止日期、起始日期必须且只能填一项（现在填了年度、截止日期）")]
