"""The bulletin's Excel annex (附件): every figure as tables, plus sources and definitions.

Chinese names come first, codes last; numbers are stored as numbers (full precision) with a
number format showing the digits the bulletin prints; dates are dates; statuses are coloured
by conditional formatting; headers are frozen. Every sheet prints: A4 landscape, one page
wide, the title and header rows repeated on every page, the used range as print area, page
numbers in the footer. Text that comes from data and starts with = + - @ (or a tab / CR) is
neutralised with a leading '.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .fmt import excel_format, is_missing
from .model import Bulletin, Figure

FONT = "宋体"
STATUS_FILLS = {"达标": "C8E6C9", "接近": "FFF59D", "未达标": "FFCDD2", "未报送": "E0E0E0",
                "数据不全": "D9D9D9", "无业务": "F2F2F2", "未到期": "FAFAFA", "无目标": "ECEFF1"}
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
THIN = Side(style="thin", color="A6A6A6")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
KIND = {"ratio": "比率（Σ分子÷Σ分母）", "count": "计数", "mean": "均值（Σ分子÷Σ分母）"}
AGG = {"flow": "流量：期内各月相加", "stock": "存量：取期末月数值"}
DIRECTION = {"higher": "越高越好", "lower": "越低越好"}
COMPARATORS = {">=": "≥", "<=": "≤"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe(value):
    """Neutralise text that a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if value is None or (not isinstance(value, str) and is_missing(value)):
        return None
    return value


def _sheet(wb: Workbook, title: str, heading: str, note: str, header: list[str]):
    ws = wb.create_sheet(title)
    ws["A1"] = safe(heading)
    ws["A1"].font = Font(name=FONT, bold=True, size=14)
    ws["A2"] = safe(note)
    ws["A2"].font = Font(name=FONT, size=10, color="C00000" if "示例数据" in note else "595959")
    for col, text in enumerate(header, 1):
        c = ws.cell(row=3, column=col, value=text)
        c.font = Font(name=FONT, bold=True)
        c.fill = HEADER_FILL
        c.border = BORDER
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.freeze_panes = "C4"
    return ws


def print_setup(ws) -> None:
    """A4 landscape, fit to one page wide (as many pages tall as needed), rows 1–3 repeated."""
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:3"
    ws.print_area = f"A1:{get_column_letter(ws.max_column)}{ws.max_row}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


def _put(ws, row: int, values: list, formats: dict[int, str] | None = None) -> None:
    for col, v in enumerate(values, 1):
        c = ws.cell(row=row, column=col, value=safe(v))
        c.border = BORDER
        c.font = Font(name=FONT)
        if formats and col in formats and isinstance(c.value, int | float):
            c.number_format = formats[col]


def _status_colours(ws, col: int, first: int, last: int) -> None:
    if last < first:
        return
    letter = get_column_letter(col)
    ref = f"{letter}{first}:{letter}{last}"
    for status, colour in STATUS_FILLS.items():
        ws.conditional_formatting.add(ref, CellIsRule(
            operator="equal", formula=[f'"{status}"'], fill=PatternFill("solid", bgColor=colour)))


def _widths(ws, widths: list[float]) -> None:
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w


def _figure_formats(f: Figure, cols: dict[str, int]) -> dict[int, str]:
    return {cols["actual"]: excel_format(f.unit, "value", f.actual),
            cols["target"]: excel_format(f.unit, "target", f.target),
            cols["gap"]: excel_format(f.unit, "value", f.gap),
            cols["completion"]: "0.0"}


def overview_sheet(wb, b: Bulletin, note: str) -> None:
    header = ["指标", "单位", "本期值", "目标值", "差距", "完成率(%)", "状态", "上季度值",
              "较上季度变化", "序时进度目标值", "是否达到序时进度", "每月需改进", "年内剩余月数",
              "已报送单位数", "应报送单位数", "目标来源", "指标编码"]
    ws = _sheet(wb, "总体情况", f"{b.jurisdiction_name}{b.quarter.label}医保便民服务指标完成情况",
                note, header)
    cols = {"actual": 3, "target": 4, "gap": 5, "completion": 6}
    row = 4
    for s in b.sections:
        p = s.parent
        change = None
        if s.has_change:
            change = s.change_sign * float(s.change_s)
        on_track = None if p.on_track is None else ("是" if p.on_track else "否")
        values = [s.info.name, s.info.unit, p.actual, p.target, p.gap, p.completion,
                  p.status, s.previous.actual if s.previous else None, change, p.expected, on_track,
                  p.needed_per_month, p.months_left, p.reporters, p.expected_reporters,
                  s.target_source, s.info.code]
        fmts = _figure_formats(p, cols)
        for c in (8, 9, 10, 12):
            fmts[c] = excel_format(s.info.unit, "value", values[c - 1])
        _put(ws, row, values, fmts)
        row += 1
    _status_colours(ws, 7, 4, row - 1)
    ws.freeze_panes = "B4"
    _widths(ws, [34, 7, 10, 9, 9, 10, 8, 10, 12, 13, 12, 11, 11, 11, 11, 40, 26])


def detail_sheet(wb, b: Bulletin, note: str) -> None:
    header = ["地区", "指标", "层级", "单位", "本期值", "目标值", "差距", "完成率(%)", "状态", "排名",
              "参与排名数", "连续未达标期数", "地区编码", "指标编码"]
    ws = _sheet(wb, "分地区明细", f"{b.jurisdiction_name}{b.quarter.label}分地区指标明细", note, header)
    cols = {"actual": 5, "target": 6, "gap": 7, "completion": 8}
    row = 4
    for s in b.sections:
        for level, figs in (("本级", [s.parent]), ("下级", s.children)):
            for f in figs:
                _put(ws, row, [f.region_name, s.info.name, level, s.info.unit, f.actual, f.target,
                               f.gap, f.completion, f.status, f.rank, f.rank_of, f.streak,
                               f.region_code, s.info.code], _figure_formats(f, cols))
                row += 1
    _status_colours(ws, 9, 4, row - 1)
    ws.auto_filter.ref = f"A3:{get_column_letter(len(header))}{max(row - 1, 3)}"
    _widths(ws, [20, 34, 6, 7, 10, 9, 9, 10, 8, 6, 10, 12, 14, 26])


def matrix_sheet(wb, b: Bulletin, note: str) -> None:
    """Regions × indicators: the value, filled by status (legend in row 2)."""
    header = ["地区"] + [f"{s.info.name}（{s.info.unit}）" for s in b.sections] + ["地区编码"]
    ws = _sheet(wb, "地区×指标", f"{b.jurisdiction_name}{b.quarter.label}各地区指标值（颜色表示状态）",
                note + "　图例：绿=达标，黄=接近，红=未达标，灰=不作评价（未报送、数据不全、无业务、未到期、无目标）", header)
    regions: list[tuple[str, str]] = []
    by_key: dict[tuple[str, str], Figure] = {}
    for s in b.sections:
        for f in [s.parent] + s.children:
            if (f.region_code, f.region_name) not in regions:
                regions.append((f.region_code, f.region_name))
            by_key[(f.region_code, s.info.code)] = f
    for r, (code, name) in enumerate(regions, 4):
        _put(ws, r, [name] + [None] * len(b.sections) + [code])
        for c, s in enumerate(b.sections, 2):
            f = by_key.get((code, s.info.code))
            cell = ws.cell(row=r, column=c, value=f.actual if f is not None else None)
            cell.border = BORDER
            if f is None:
                continue
            if f.actual is None:
                cell.value = f.status
            else:
                cell.number_format = excel_format(f.unit, "value", f.actual)
            cell.fill = PatternFill("solid", fgColor=STATUS_FILLS.get(f.status, "FFFFFF"))
    _widths(ws, [20] + [16] * len(b.sections) + [14])
    ws.row_dimensions[3].height = 48
    ws.freeze_panes = "B4"


def submission_sheet(wb, b: Bulletin, note: str) -> None:
    header = ["地区", "类别", "统计期", "应报日期", "状态", "首次报送时间", "最后报送时间",
              "报送次数", "地区编码"]
    ws = _sheet(wb, "报送情况", f"{b.jurisdiction_name}{b.quarter.label}数据报送情况", note, header)
    row = 4
    for sub in b.submissions:
        for _, r in sub.rows.iterrows():
            _put(ws, row, [r.get("region_name"), sub.label, r.get("period"),
                           _date(r.get("due_date")), r.get("status"),
                           _date(r.get("first_uploaded_at"), True), _date(r.get("last_uploaded_at"), True),
                           None if is_missing(r.get("submissions")) else int(r.get("submissions")),
                           r.get("region_code")])
            for col, fmt in ((4, "yyyy-mm-dd"), (6, "yyyy-mm-dd hh:mm"), (7, "yyyy-mm-dd hh:mm")):
                ws.cell(row=row, column=col).number_format = fmt
            row += 1
    _status_colours(ws, 5, 4, row - 1)
    ws.freeze_panes = "B4"
    _widths(ws, [20, 8, 10, 12, 8, 18, 18, 9, 14])


def unreviewed_sheet(wb, b: Bulletin, note: str) -> None:
    """The submissions not approved in review (待审核 / 退回) when the bulletin was made."""
    header = ["报送编号", "文件", "地区", "统计期", "报送人", "报送时间", "审核状态", "审核意见"]
    counted = "未计入本通报" if b.reviewed_only else "已计入本通报，以审核通过后为准"
    ws = _sheet(wb, "待审核报送", f"{b.jurisdiction_name}{b.quarter.label}待审核报送（{counted}）",
                note, header)
    for row, r in enumerate(b.unreviewed.itertuples(), 4):
        _put(ws, row, [int(r.submission_id), r.file_name, r.region_names or "、".join(r.regions),
                       "、".join(r.periods), r.uploaded_by, _date(r.uploaded_at, True), r.state,
                       None if is_missing(r.comment) else r.comment])
        ws.cell(row=row, column=6).number_format = "yyyy-mm-dd hh:mm"
    ws.freeze_panes = "B4"
    _widths(ws, [10, 30, 20, 14, 12, 18, 10, 30])


def _date(value, with_time: bool = False):
    """A real date (or date-time) cell value, never text."""
    if value is None or is_missing(value) or value is pd.NaT:
        return None
    ts = pd.Timestamp(value)
    return ts.to_pydatetime().replace(second=0, microsecond=0) if with_time else ts.date()


def definitions_sheet(wb, b: Bulletin, note: str) -> None:
    header = ["指标", "单位", "计算方式", "报送频次", "期间汇总", "方向", "分子", "分母",
              "本期适用目标", "目标来源（文号 条款）", "指标编码"]
    ws = _sheet(wb, "指标口径", f"{b.jurisdiction_name}医保便民服务指标口径", note, header)
    for row, s in enumerate(b.sections, 4):
        i, p = s.info, s.parent
        target = None if p.target is None else \
            f"{COMPARATORS.get(p.comparator or '', '')}{p.target_s}{i.unit}"
        _put(ws, row, [i.name, i.unit, KIND.get(i.kind, i.kind), i.frequency,
                       AGG.get(i.aggregation, i.aggregation), DIRECTION.get(i.direction, i.direction),
                       i.numerator_label, i.denominator_label, target, s.target_source, i.code])
    ws.freeze_panes = "B4"
    _widths(ws, [34, 7, 18, 8, 18, 10, 30, 24, 12, 44, 26])


def sources_sheet(wb, b: Bulletin, note: str) -> None:
    header = ["方案名称", "文号", "指标", "适用地区", "目标层级", "比较",
              "目标值", "单位", "年度/期限", "条款", "原文", "方案编码", "指标编码"]
    ws = _sheet(wb, "目标来源", f"{b.jurisdiction_name}目标来源（方案文号与条款）", note, header)
    frame = b.targets if b.targets is not None else pd.DataFrame()
    codes = {s.info.code for s in b.sections}
    row = 4
    for _, t in frame.iterrows():
        if t.get("indicator_code") not in codes:
            continue
        deadline = t.get("deadline")
        when = (pd.Timestamp(deadline).date() if not is_missing(deadline) and deadline is not None
                else (None if is_missing(t.get("year_from")) else int(t.get("year_from"))))
        _put(ws, row, [t.get("plan_title"), t.get("doc_number"), t.get("indicator_name"),
                       t.get("region_name"), t.get("tier"),
                       COMPARATORS.get(t.get("comparator"), t.get("comparator")),
                       t.get("value"), t.get("unit"), when,
                       t.get("clause"), t.get("text"), t.get("plan_code"), t.get("indicator_code")])
        if not isinstance(when, int):
            ws.cell(row=row, column=9).number_format = "yyyy-mm-dd"
        row += 1
    ws.freeze_panes = "B4"
    _widths(ws, [40, 22, 30, 16, 10, 6, 8, 6, 12, 16, 50, 16, 26])


def write_xlsx(b: Bulletin, path: Path) -> Path:
    note = f"统计期：{b.quarter.label}（{b.quarter.code}）"
    if b.data_as_of is not None:
        note += f"；数据截至 {b.data_as_of:%Y-%m-%d %H:%M}"
    if b.is_demo:
        note += "；示例数据，仅供演示"
    wb = Workbook()
    wb.remove(wb.active)
    overview_sheet(wb, b, note)
    detail_sheet(wb, b, note)
    matrix_sheet(wb, b, note)
    submission_sheet(wb, b, note)
    if b.unreviewed is not None and len(b.unreviewed):
        unreviewed_sheet(wb, b, note)
    definitions_sheet(wb, b, note)
    sources_sheet(wb, b, note)
    for ws in wb.worksheets:
        print_setup(ws)
    wb.properties.title = b.title
    wb.properties.creator = b.authority
    wb.save(str(path))
    return path
