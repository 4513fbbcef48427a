"""Cleaning single cells of a return: numbers typed every way officials type them, names, keys.

Pure functions, no I/O. A value that cannot be read unambiguously raises `CellError` whose
message is Chinese and says how to fix it (the caller adds sheet and cell).
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata

# Quotes officials type around 网上办 etc.: curly, straight, corner brackets, primes.
_QUOTES = dict.fromkeys(map(ord, "\"'“”‘’„‟「」『』＂＇′″〝〞"), None)
_SPACE = re.compile(r"\s+")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_EMPTY_MARKS = {"-", "--", "—", "——", "/", "／", "－"}
EXCEL_ERRORS = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#SPILL!",
                "#CALC!", "#GETTING_DATA"}


class CellError(ValueError):
    """A cell that cannot be read; the message is Chinese and says the fix."""


def col_letter(col: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 26 -> AA)."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def address(row: int, col: int) -> str:
    """0-based row and column -> 'C7'."""
    return f"{col_letter(col)}{row + 1}"


def is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def clean_text(value) -> str:
    """Cell as trimmed text: full-width forms folded (NFKC), inner runs of spaces collapsed."""
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    return _SPACE.sub(" ", text).strip()


def match_key(value) -> str:
    """Key for matching names, codes and aliases: NFKC, no spaces, no quotes, lower case."""
    text = unicodedata.normalize("NFKC", clean_text(value)).translate(_QUOTES)
    return _SPACE.sub("", text).lower()


def excel_error(value) -> str | None:
    """The Excel error literal a cell holds (#DIV/0! …), or None."""
    if isinstance(value, str) and value.strip().upper() in EXCEL_ERRORS:
        return value.strip().upper()
    return None


def parse_number(value, what: str = "数值") -> float | None:
    """A count typed as a number or as text. Blank (or a dash) -> None.

    Accepts text numbers, full-width digits, stray spaces, thousands separators (, and ，)
    in proper groups of three. Rejects anything else with a Chinese message.
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellError(f"{what}“{value}”不是数字：请填写数字")
    if isinstance(value, int):
        return float(value)
    if isinstance(value, float):
        if math.isinf(value):
            raise CellError(f"{what}不是有效数字：请填写数字")
        return value
    if isinstance(value, dt.date | dt.datetime | dt.time | dt.timedelta):
        raise CellError(f"{what}被 Excel 识别成了日期或时间（{value}）：请把单元格格式设为“数值”后重新填写数字")
    err = excel_error(value)
    if err:
        raise CellError(f"{what}是 Excel 错误值 {err}：请修正公式或直接填写数字")
    raw = str(value)
    text = unicodedata.normalize("NFKC", raw)  # full-width digits, ，→ , and full-width space
    text = _SPACE.sub("", text)
    if text in _EMPTY_MARKS:
        return None
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    if not _PLAIN.match(text):
        raise CellError(f"{what}“{raw.strip()}”不是数字：请只填写阿拉伯数字（可带千分位逗号），"
                        "不要带单位、百分号或文字")
    return float(text)
