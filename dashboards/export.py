"""Excel exports of what a page shows (openpyxl), safe against formula injection."""
from __future__ import annotations

import io
from typing import TYPE_CHECKING

from .theme import is_missing

if TYPE_CHECKING:
    import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Text that Excel would read as a formula gets a leading apostrophe; numbers stay numbers."""
    if is_missing(value):
        return None
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    if hasattr(value, "item"):          # numpy scalars
        return value.item()
    return value


def frame_to_xlsx(frame: pd.DataFrame, columns: dict[str, str], *, sheet: str, title: str) -> bytes:
    """One sheet: a title row, Chinese headers (columns: field → header), the rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    ws.append([safe_cell(title)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(list(columns.values()))
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for record in frame[list(columns)].itertuples(index=False):
        ws.append([safe_cell(v) for v in record])
    for i, header in enumerate(columns.values(), start=1):
        width = max([len(str(header)) * 2] + [len(str(c.value or "")) * 1.6 for c in ws[get_column_letter(i)][2:200]])
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(10, width))
    ws.freeze_panes = "A3"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
