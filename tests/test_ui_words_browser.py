"""Every user-facing word is Chinese (issue 15): a walk over every page of the demo warehouse,
logged in as admin, fails on any visible ASCII word that is not a code, a number, a unit, a file
name, a user's name or one of the few product names Chinese offices write in Latin letters.
The pages walked are those `make screenshots` shoots (scripts/screenshots.py PAGES)."""
from __future__ import annotations

import re
import shutil

import pytest

from browser_kit import chromium, login, severe_logs, viewport
from scripts.screenshots import PAGES, open_page
from webserver import ServerProcess, add_accounts

pytestmark = pytest.mark.browser
# Written in Latin letters in Chinese government offices too.
PROPER_NAMES = {"Excel", "Word", "PDF", "WPS", "API", "Office", "LibreOffice", "CSV", "STARTTLS", "SMTP"}
UNITS = {"MB", "KB", "GB", "pp"}
FILE_NAME = re.compile(r"[^\s/]*\.(xlsx|xlsm|xls|docx|pdf|csv|zip|et|ods)\b", re.I)   # also ".xlsx" alone
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-.@]*")


def foreign_words(text: str, names: set[str]) -> list[str]:
    """ASCII words in `text` that are not codes, numbers, units, file names or names."""
    text = FILE_NAME.sub(" ", text)
    out = []
    for word in WORD.findall(text):
        word = word.rstrip(".-")
        if not word or word in PROPER_NAMES or word in UNITS or word in names:
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
        assert offenders == {}, offenders
        assert severe_logs(d) == []
    finally:
        d.quit()
