"""Every user-facing word is Chinese (issue 15): a walk over every page of the demo warehouse,
logged in as admin, fails on any visible ASCII word that is not a code, a number, a unit, a file
name, a user's name or one of the few product names Chinese offices write in Latin letters.
The pages walked are those `make screenshots` shoots (scripts/screenshots.py PAGES)."""
from __future__ import annotations

import re
import shutil

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from browser_kit import chromium, login, severe_logs, viewport
from scripts.screenshots import PAGES, open_page
from webserver import ServerProcess, add_accounts

pytestmark = pytest.mark.browser
# Written in Latin letters in Chinese government offices too.
PROPER_NAMES = {"Excel", "Word", "PDF", "WPS", "API", "Office", "LibreOffice", "CSV", "STARTTLS", "SMTP"}
UNITS = {"MB", "KB", "GB", "pp"}
NOTATION = {"z"}                    # 修正 z 分数 (the outlier rule), as statistics writes it
FILE_NAME = re.compile(r"[^\s/]*\.(xlsx|xlsm|xls|docx|pdf|csv|zip|et|ods)\b", re.I)   # also ".xlsx" alone
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-.@]*")


def foreign_words(text: str, names: set[str]) -> list[str]:
    """ASCII words in `text` that are not codes, numbers, units, file names or names."""
    text = FILE_NAME.sub(" ", text)
    out = []
    for word in WORD.findall(text):
        word = word.rstrip(".-")
        if not word or word in PROPER_NAMES or word in UNITS or word in NOTATION or word in names:
            continue
        if any(ch.isdigit() for ch in word) or "_" in word:     # codes: 2024Q1, 350902, evoucher_…
            continue
        if "@" in word:                                          # an e-mail address
            continue
        out.append(word)
    return out


def test_the_word_filter_itself():
    names = {"admin"}
    assert foreign_words("导出 Excel；文件 蕉城区_3月.xlsx；2024Q1；350902；admin 登录；将 .xlsx 拖到这里", names) == []
    assert foreign_words("2 selected · Select... · 404 - Page not found", names) == \
        ["selected", "Select", "Page", "not", "found"]
    assert foreign_words("login success due_day.月度", names) == ["login", "success"]


@pytest.fixture(scope="module")
def server(demo_warehouse, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("words")
    path = tmp / "warehouse.duckdb"
    shutil.copy(demo_warehouse, path)
    add_accounts(path)
    with ServerProcess(path) as srv:
        yield srv


def test_every_page_speaks_chinese(server):
    d = chromium()
    try:
        login(d, server.url, "admin")
        viewport(d, "1920")
        names = set(d.execute_script("return [document.getElementById('ybjc-user').innerText]")[0].split("（")[:1])
        offenders = {}
        for name, path, ready in PAGES:
            open_page(d, server.url, path, ready)
            text = d.execute_script("return document.body.innerText")
            actors = set(d.execute_script(
                "return [...document.querySelectorAll('#admin-audit-table tbody tr td:nth-child(2),"
                " #admin-users-box tbody tr td:first-child')].map(e => e.innerText.trim())"))
            bad = foreign_words(text, names | actors | {"viewer", "reporter_a", "reporter_b", "admin"})
            if bad:
                offenders[name] = sorted(set(bad))
        # What opens on a page: the provenance panel (with its Σ row) and the audit log's calendar.
        open_page(d, server.url, PAGES[0][1], "#overview-cards")
        d.find_element("css selector", "#overview-cards .kpi-value").click()
        panel = d.find_element("css selector", "#prov-modal")
        WebDriverWait(d, 30).until(lambda _: panel.find_elements("css selector", ".prov-total"))
        bad = foreign_words(panel.text, names)
        if bad:
            offenders["provenance"] = sorted(set(bad))
        open_page(d, server.url, "/admin?section=audit-log", "#admin-audit-dates")
        d.find_element("css selector", "#admin-audit-dates").click()
        WebDriverWait(d, 10).until(lambda _: d.find_elements("css selector", ".dash-datepicker-calendar"))
        calendar = d.find_element("css selector", ".dash-datepicker-calendar")
        bad = foreign_words(calendar.text, names)
        if bad:
            offenders["calendar"] = sorted(set(bad))
        weekdays = d.execute_script(
            "return [...document.querySelectorAll('.dash-datepicker-calendar thead tr:nth-child(2) th')]"
            ".map(th => getComputedStyle(th, '::after').content.replace(/\"/g, ''))")
        assert len(weekdays) >= 7 and weekdays == list("一二三四五六日") * (len(weekdays) // 7), weekdays
        assert offenders == {}, offenders
        assert severe_logs(d) == []
    finally:
        d.quit()
