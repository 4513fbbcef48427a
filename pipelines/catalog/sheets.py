"""What every admin sheet shares (目标表, 地区表, 联系人表, 账户表, the audit export): the
error that lists every located issue, reading an upload in a bounded worker, the header row,
cell values and codes, text written back safely. Nothing here knows what a sheet means."""
from __future__ import annotations

import datetime as dt

from pipelines.catalog.model import CatalogIssues, Issue
from pipelines.catalog.suggest import did_you_mean
from pipelines.returns.cells import col_letter
from pipelines.returns.workbook import Sheet
from pipelines.returns.workbook import Workbook as ParsedWorkbook


class SheetError(CatalogIssues):
    """The workbook cannot be used: `issues` (each at its sheet and cell) and `problems`, their
    text 'sheet!cell: message'. Also takes plain located strings (contacts, accounts sheets)."""
    heading = "表格中发现 %d 个问题："


def header(ws, columns) -> None:
    from openpyxl.styles import Font, PatternFill
    ws.append(list(columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE6F0")
    ws.freeze_panes = "A2"
    for i, name in enumerate(columns):
        ws.column_dimensions[chr(65 + i)].width = max(10, min(40, len(name) * 4))


def neutral_text(value):
    """Cell text from stored data; formula-like strings are neutralised."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def cell_value(v):
    if isinstance(v, str):
        v = v.strip().lstrip("'") if v.strip().startswith("'") else v.strip()
        return v or None
    if isinstance(v, dt.datetime):
        return v.date()
    return v


def code_text(v) -> str | None:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return None if v is None else str(v).strip() or None


def sheet_rows(sheet: Sheet, columns, problems: list, optional=()):
    """(row number, {column: value}) of each non-blank row under the header in row 1; a
    misspelt, foreign or missing column is an Issue in `problems` (an `optional` one may be
    absent) and then no row is read."""
    header = [(cell_value(v) or "") for v in sheet.rows[0]] if sheet.rows else []
    where = {}
    unknown = [(i, h) for i, h in enumerate(header) if h and h not in columns]
    for i, h in unknown:        # a misspelt or foreign column is not read silently
        problems.append(Issue(f"未知列“{h}”{did_you_mean(h, columns)}（本表的列：{'、'.join(columns)}）："
                              "请改正列名，或删除该列", sheet=sheet.name, cell=f"{col_letter(i)}1"))
    for name in columns:
        if name in header:
            where[name] = header.index(name)
        elif name not in optional:
            problems.append(Issue(f"缺少列“{name}”，请使用系统导出的表格", sheet=sheet.name, cell="1"))
    if unknown:
        return
    if len(where) != len([c for c in columns if c in header or c not in optional]):
        return
    for number, row in enumerate(sheet.rows[1:], start=2):
        values = {name: cell_value(row[i]) if i < len(row) else None for name, i in where.items()}
        if all(v is None for v in values.values()):
            continue
        yield number, values


def parsed_workbook(source, parser=None,
                    what: str = "请上传由本系统导出并用 Excel/WPS 保存的 .xlsx") -> ParsedWorkbook:
    """An uploaded sheet as cell values, read by a bounded worker (pipelines.returns.parse_worker).

    `source`: a Workbook already parsed, a path, or (file_name, bytes). SheetError if unreadable.
    """
    from pathlib import Path

    from pipelines.returns.parse_worker import ParsePool
    from pipelines.returns.workbook import WorkbookError
    if isinstance(source, ParsedWorkbook):
        return source
    name, data = (source if isinstance(source, tuple) else (Path(source).name, Path(source).read_bytes()))
    try:
        if parser is not None:
            return parser.read_sheets(str(name), bytes(data))
        with ParsePool() as pool:
            return pool.read_sheets(str(name), bytes(data))
    except WorkbookError as exc:
        raise SheetError([Issue(f"无法读取文件：{exc}（{what}）", sheet=exc.sheet or None,
                                cell=exc.cell if exc.sheet else None)]) from None
