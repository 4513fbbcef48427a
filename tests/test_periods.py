"""Every period form officials write parses to the right period; ambiguous ones are refused."""
from __future__ import annotations

import datetime as dt

import pytest

from pipelines.periods import Period, PeriodError, months_between, parse_period


@pytest.mark.parametrize("value, code", [
    ("2024-03", "2024-03"), ("2024-3", "2024-03"), ("2024年3月", "2024-03"), ("2024年03月份", "2024-03"),
    ("202403", "2024-03"), (202403, "2024-03"), (202403.0, "2024-03"), ("2024.03", "2024-03"),
    ("2024/3", "2024-03"), ("2024.10", "2024-10"), ("２０２４年３月", "2024-03"), (" 2024 - 03 ", "2024-03"),
    (dt.date(2024, 3, 17), "2024-03"), (dt.datetime(2024, 3, 1, 0, 0), "2024-03"), ("2024-03-17", "2024-03"),
    ("2024年3月17日", "2024-03"), ("2024Q1", "2024Q1"), ("2024q4", "2024Q4"), ("2024-Q2", "2024Q2"),
    ("2024年第一季度", "2024Q1"), ("2024年一季度", "2024Q1"), ("2024年第4季度", "2024Q4"),
    ("2024年三季度", "2024Q3"), ("2024", "2024"), (2024, "2024"), ("2024年", "2024"), ("2024年度", "2024"),
])
def test_every_form_parses(value, code):
    assert parse_period(value).code == code


def test_excel_number_2024_1_is_rejected_with_the_reason():
    with pytest.raises(PeriodError) as err:
        parse_period(2024.1)
    message = str(err.value)
    assert "数字" in message and "1月还是10月" in message and "文本" in message


@pytest.mark.parametrize("value", ["2024-13", "2024年0月", "2024-02-30", "三月", "", None, float("nan"),
                                   "2024Q5", "1999-01", True, "2024年第五季度"])
def test_unreadable_periods_are_refused_in_chinese(value):
    with pytest.raises(PeriodError) as err:
        parse_period(value)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(err.value))


def test_period_arithmetic():
    q1 = parse_period("2024Q1")
    assert (q1.month_from, q1.month_to, q1.type, q1.label) == (1, 3, "Q", "2024年第一季度")
    assert q1.previous().code == "2023Q4"
    assert parse_period("2024-01").previous().code == "2023-12"
    assert parse_period("2024").previous().code == "2023"
    assert [m.code for m in q1.months()] == ["2024-01", "2024-02", "2024-03"]
    assert q1.end == dt.date(2024, 3, 31) and parse_period("2024-02").end == dt.date(2024, 2, 29)
    assert months_between(Period(2023, 12, 12), Period(2024, 3, 3)) == 3
