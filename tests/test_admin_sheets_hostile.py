"""Hostile workbooks uploaded through the admin page's callbacks on a real server (目标表 /
地区表 / 联系人表 share one upload, 账户表 its own): each is refused in Chinese by the returns'
container checks (pipelines/returns/workbook.py in a bounded parse worker), nothing is left
pending, the apply callbacks refuse it too, and nothing in the warehouse changes. The readers
themselves are held to the same files in tests/test_security_targets.py."""
from __future__ import annotations

import base64
import json
import re
import shutil

import pytest

from test_reliability_hostile import HEADER, LAUGHS, _bomb_xml, _lie_about_sizes
from test_reliability_kit import SHEET_HEAD, SHEET_TAIL, raw_xlsx, sheet_rows_xml
from webserver import Client, ServerProcess, add_accounts, callback_body

CJK = re.compile(r"[\u4e00-\u9fff]")
ROW = ["蕉城区", "2024-01", "evoucher_activation_rate", 1, 2]


def _named(sheet: bytes, name: str = "地区", extra=None) -> bytes:
    workbook = (b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                b'relationships"><sheets><sheet name="' + name.encode() + b'" sheetId="1" r:id="rId1"/>'
                b'</sheets></workbook>')
    return raw_xlsx(sheet, workbook_xml=workbook, extra=extra)


def _laughs(where: str) -> bytes:
    if where == "sheet":
        sheet = SHEET_HEAD + sheet_rows_xml(HEADER) + \
            b'<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row>' + SHEET_TAIL
        return _named(LAUGHS + sheet[sheet.index(b"?>") + 2:])
    if where == "workbook":
        workbook = LAUGHS + (b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:'
                             b'r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                             b'<sheet name="&lol9;" sheetId="1" r:id="rId1"/></sheets></workbook>')
        return raw_xlsx(SHEET_HEAD + sheet_rows_xml(HEADER) + SHEET_TAIL, workbook_xml=workbook)
    sst = {"xl/sharedStrings.xml": LAUGHS + b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
           b'2006/main" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'}
    return _named(SHEET_HEAD + sheet_rows_xml(HEADER) + b'<row r="2"><c r="A2" t="s"><v>0</v></c></row>'
                  + SHEET_TAIL, extra=sst)


def _hostile() -> dict[str, tuple[bytes, str | None]]:
    """name → (bytes, a phrase the refusal must contain besides 无法读取文件)."""
    liar_rows = sheet_rows_xml(HEADER + [ROW] * 120_000)
    return {
        "zip_bomb": (_named(_bomb_xml(300)), "压缩炸弹"),
        "lying_headers": (_lie_about_sizes(_named(SHEET_HEAD + liar_rows + SHEET_TAIL),
                                           "xl/worksheets/sheet1.xml", 1024), None),
        "huge_sheet": (_named(SHEET_HEAD + sheet_rows_xml(HEADER + [ROW] * 100_001) + SHEET_TAIL), "100002 行"),
        "far_cell": (_named(SHEET_HEAD + sheet_rows_xml(HEADER)
                            + b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>' + SHEET_TAIL), None),
        "laughs_sheet": (_laughs("sheet"), None),
        "laughs_workbook": (_laughs("workbook"), None),
        "laughs_shared_strings": (_laughs("shared_strings"), None),
    }


@pytest.fixture(scope="module")
def hostile():
    return _hostile()


def _fingerprint(con) -> dict:
    tables = ("users", "region_contacts", "targets", "plans", "regions", "region_edits", "api_tokens")
    out = {t: con.execute(f"SELECT count(*), hash(string_agg(CAST(x AS VARCHAR), '|' ORDER BY CAST(x AS VARCHAR))) "
                          f"FROM {t} x").fetchone() for t in tables}
    out["audit"] = con.execute("SELECT list(action ORDER BY audit_id) FROM audit_log "
                               "WHERE action NOT IN ('login')").fetchone()[0]
    return out


def _contents(data: bytes) -> str:
    return "data:application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;base64," + \
        base64.b64encode(data).decode()


def test_hostile_admin_uploads_through_the_server_change_nothing(_initialised_template, tmp_path, hostile):
    from pipelines import db
    db_path = tmp_path / "warehouse.duckdb"
    shutil.copy(_initialised_template, db_path)
    add_accounts(db_path)
    con = db.connect(db_path, read_only=True)
    try:
        before = _fingerprint(con)
    finally:
        con.close()
    with ServerProcess(db_path) as srv:
        admin = Client(srv.url)
        assert admin.login("admin").status_code == 302
        deps = admin.get("/_dash-dependencies").json()

        def call(output, values):
            r = admin.post("/_dash-update-component", json=callback_body(deps, output, values))
            assert r.status_code == 200, r.text[:300]
            return r.json()["response"]

        for name in ("zip_bomb", "huge_sheet", "laughs_sheet", "laughs_shared_strings", "lying_headers"):
            data, phrase = hostile[name]
            content, fname = _contents(data), f"{name}.xlsx"
            # 目标表 / 地区表 / 联系人表 share one upload: refused, nothing pending
            check = call("admin-sheet-check.children", {"admin-sheet-upload.contents": content,
                                                        "admin-sheet-upload.filename": fname})
            text = json.dumps(check, ensure_ascii=False)
            assert "未作任何修改" in text and "无法读取文件" in text, (name, text[:400])
            assert phrase is None or phrase in text
            assert check["admin-sheet-pending"]["data"] is None
            # even sent straight to the apply callback, it is refused
            applied = call("admin-apply-outcome.children@", {
                "admin-apply.n_clicks": 1,
                "admin-sheet-pending.data": {"contents": content, "kind": "regions", "filename": fname}})
            text = json.dumps(applied, ensure_ascii=False)
            assert "无法读取文件" in text and "已应用" not in text, (name, text[:400])
            # 账户表
            batch = call("admin-batch-check.children", {"admin-batch-upload.contents": content,
                                                        "admin-batch-upload.filename": fname})
            text = json.dumps(batch, ensure_ascii=False)
            assert "未创建任何账户" in text and "无法读取文件" in text and CJK.search(text)
            assert batch["admin-batch-pending"]["data"] is None
            created = call("admin-batch-outcome.children@", {
                "admin-batch-apply.n_clicks": 1,
                "admin-batch-pending.data": {"contents": content, "filename": fname}})
            text = json.dumps(created, ensure_ascii=False)
            assert "无法读取文件" in text and "已创建" not in text, (name, text[:400])
        assert admin.get("/login").status_code == 200        # the server is still serving
    con = db.connect(db_path, read_only=True)
    try:
        assert _fingerprint(con) == before
    finally:
        con.close()


def test_openpyxl_runs_with_defusedxml():
    """defusedxml is a declared dependency: openpyxl (which only ever reads our own exports and
    templates here) then parses through it."""
    import tomllib
    from pathlib import Path

    import openpyxl.xml
    deps = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    assert any(d.startswith("defusedxml") for d in deps["project"]["dependencies"])
    assert openpyxl.xml.DEFUSEDXML is True
