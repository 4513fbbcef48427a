"""The return template for one district and period (DESIGN.md "Return formats", layout 1).

Data sheet 填报表: title, 地区/地区编码 and 统计期 above a header row with 指标编码, 指标名称,
分子, 分母, 备注 (then 单位 and the numerator/denominator definitions as help), one row per
indicator due at the period's frequency. A hidden sheet `_meta` repeats region code, period and
template version so that the extractor can check the visible cells were not altered.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipelines.returns.extract import META_SHEET, TEMPLATE_VERSION
from pipelines.periods import Period, parse_period

DATA_SHEET = "填报表"
HEADER_ROW = 5
COLUMNS = ("指标编码", "指标名称", "分子", "分母", "备注", "单位", "分子口径", "分母口径")
FREQUENCY_OF_TYPE = {"M": "月度", "Q": "季度", "Y": "年度"}


def template_indicators(con, region_code: str, period: Period) -> list[dict]:
    """The indicators the region owes at the period's frequency (DESIGN "Who reports what").

    Those that matter in the region's jurisdiction (a target in force in its tree, or a line
    of who-reports-what) and that the region reports itself: a 镇街 template leaves out what
    the city bureau reports, and a city's template lists only what it reports itself.
    A jurisdiction with no targets at all gets every indicator of the frequency.
    """
    from pipelines.metrics.reporting import Reporting

    frequency = FREQUENCY_OF_TYPE[period.type]
    row = con.execute("SELECT jurisdiction_code FROM regions WHERE code = ?", [region_code]).fetchone()
    if row is None:
        raise ValueError(f"地区编码 {region_code} 不存在：请用 python -m pipelines init 载入地区后再试")
    cols = "code, name, unit, kind, numerator_label, denominator_label"
    sql = (f"SELECT {cols} FROM indicators WHERE frequency = ? {{extra}} ORDER BY sort_order")
    relevant = con.execute(sql.format(extra=(
        "AND code IN (SELECT t.indicator_code FROM targets t JOIN regions r ON r.code = t.region_code "
        "WHERE t.valid_to IS NULL AND r.jurisdiction_code = ? "
        "UNION SELECT indicator_code FROM reporting WHERE jurisdiction_code = ?)")),
        [frequency, row[0], row[0]]).fetchall()
    if not relevant:
        relevant = con.execute(sql.format(extra=""), [frequency]).fetchall()
    rep = Reporting.read(con)
    names = cols.split(", ")
    return [dict(zip(names, r)) for r in relevant if rep.owes(region_code, r[0])]


def write_template(con, region_code: str, period: str | Period, path) -> Path:
    """Write the .xlsx template for one region and period; returns its path."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.worksheet.datavalidation import DataValidation

    period = period if isinstance(period, Period) else parse_period(period)
    region = con.execute("SELECT code, name FROM regions WHERE code = ?", [region_code]).fetchone()
    if region is None:
        raise ValueError(f"地区编码 {region_code} 不存在：请检查地区编码")
    indicators = template_indicators(con, region_code, period)
    if not indicators:
        raise ValueError(f"{region[1]}在{period.label}没有需要报送的指标（{FREQUENCY_OF_TYPE[period.type]}）："
                         "本级报送的指标见“目标”页的报送分工，或请下载其他统计期的模板")

    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    bold, thin = Font(bold=True), Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws["A1"] = f"{region[1]}{period.label}医保便民服务指标报送表"
    ws["A1"].font = Font(bold=True, size=16)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
    for cell, value in (("A2", "地区"), ("B2", region[1]), ("C2", "地区编码"), ("D2", region[0]),
                        ("A3", "统计期"), ("B3", period.code), ("C3", "期间说明"), ("D3", period.label)):
        ws[cell] = value
        ws[cell].number_format = "@"
        if cell[0] in "AC":
            ws[cell].font = bold
    ws["A4"] = ("填报说明：比率指标请填写分子和分母；计数指标只填分子（数值），分母留空；"
                "请填写整数，不要带单位或百分号。请勿修改地区、统计期和指标编码。"
                "数据较上期或同级地区变化异常的，请在“备注”列说明原因。")
    ws["A4"].font = Font(color="666666")
    ws.merge_cells(start_row=4, start_column=1, end_row=4, end_column=len(COLUMNS))
    fill = PatternFill("solid", fgColor="DDEBF7")
    grey = PatternFill("solid", fgColor="EEEEEE")
    for c, title in enumerate(COLUMNS, start=1):
        cell = ws.cell(HEADER_ROW, c, title)
        cell.font, cell.fill, cell.border = bold, fill, box
    whole = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                           showErrorMessage=True, errorTitle="请输入整数",
                           error="请填写不小于 0 的整数，不要带单位或百分号")
    ws.add_data_validation(whole)
    for i, ind in enumerate(indicators):
        r = HEADER_ROW + 1 + i
        values = (ind["code"], ind["name"], None, None, None, ind["unit"], ind["numerator_label"],
                  ind["denominator_label"] or "（计数指标，分母不填）")
        for c, v in enumerate(values, start=1):
            cell = ws.cell(r, c, v)
            cell.border = box
        ws.cell(r, 1).number_format = "@"
        for c in (3, 4):
            ws.cell(r, c).number_format = "0"
        whole.add(f"C{r}:D{r}")
        if ind["kind"] == "count":
            ws.cell(r, 4).fill = grey
            ws.cell(r, 4).comment = Comment("计数指标：数量填在“分子”列，本格留空", "系统")
    for letter, width in zip("ABCDEFGH", (30, 40, 14, 14, 20, 8, 36, 30)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)

    meta = wb.create_sheet(META_SHEET)
    for r, (key, value) in enumerate((("region_code", region[0]), ("period", period.code),
                                      ("template_version", TEMPLATE_VERSION), ("region_name", region[1]),
                                      ("generated_at", dt.datetime.now().isoformat(timespec="seconds"))),
                                     start=1):
        meta.cell(r, 1, key)
        meta.cell(r, 2, value).number_format = "@"
    meta.sheet_state = "hidden"

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
