"""File downloads behind the security layer: the return template (scope-checked) and, for
admins, the targets / region-tree workbooks. Access levels come from security.PATH_RULES;
the region scope is checked here, per request."""
from __future__ import annotations

import io
import tempfile
from pathlib import Path
from urllib.parse import quote

import flask

from pipelines.accounts import users as accounts


def _store():
    return flask.current_app.extensions["ybjc_store"]


def _fail(status: int, message: str):
    from .errors import json_error
    return json_error(status, message)


def _send_xlsx(data: bytes, filename: str):
    resp = flask.Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return resp


def template_download():
    """GET /download/template?region=&period= — the return template of a region in scope."""
    from pipelines.periods import PeriodError, parse_period
    user = flask.g.get("ybjc_user")
    region_text = (flask.request.args.get("region") or "").strip()
    period_text = (flask.request.args.get("period") or "").strip()
    if user is None:
        return _fail(401, "请先登录")
    try:
        period = parse_period(period_text)
    except PeriodError as exc:
        return _fail(400, f"统计期“{period_text}”无法识别：{exc}")

    def build(con):
        try:
            region = accounts.resolve_region(con, region_text or user.region_code or "")
        except accounts.AccountError as exc:
            return None, (400, str(exc))
        allowed = accounts.allowed_regions(con, user)
        if allowed is not None and region not in allowed:
            return None, (403, f"您只能下载本地区（{user.region_code}）及下级地区的报送模板，"
                               f"不能下载 {region} 的模板")
        name = accounts.region_name(con, region)
        from pipelines.returns.templates import write_template
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "template.xlsx"
            try:
                write_template(con, region, period, path)
            except ValueError as exc:            # nothing owed at that frequency
                return None, (400, str(exc))
            return (path.read_bytes(), f"{name}_{period.label}_报送模板.xlsx"), None

    result, problem = _store().read(build)
    if problem:
        return _fail(*problem)
    return _send_xlsx(*result)


def targets_download():
    """GET /admin/download/targets?plan=CODE — a plan's targets as an Excel sheet (admins)."""
    from pipelines.catalog import target_sheets
    plan = flask.request.args.get("plan", "")

    def build(con):
        buf = io.BytesIO()
        target_sheets.write_plan_sheet(con, plan, buf)
        return buf.getvalue()
    try:
        data = _store().read(build)
    except target_sheets.SheetError as exc:
        return _fail(400, str(exc))
    return _send_xlsx(data, f"目标_{plan}.xlsx")


def regions_download():
    """GET /admin/download/regions — the region trees as an Excel sheet (admins)."""
    from pipelines.catalog import region_sheets

    def build(con):
        buf = io.BytesIO()
        region_sheets.write_region_sheet(con, buf)
        return buf.getvalue()
    return _send_xlsx(_store().read(build), "地区树.xlsx")


def accounts_download():
    """GET /admin/download/accounts?jurisdiction=CODE — suggested reporter accounts for the
    jurisdiction's units without one (admins)."""
    from pipelines.accounts import account_sheets
    jur = flask.request.args.get("jurisdiction", "")

    def build(con):
        buf = io.BytesIO()
        account_sheets.write_accounts_sheet(con, jur, buf)
        name = accounts.region_name(con, accounts.resolve_region(con, jur))
        return buf.getvalue(), name
    try:
        data, name = _store().read(build)
    except accounts.AccountError as exc:
        return _fail(400, str(exc))
    return _send_xlsx(data, f"账户表_{name}.xlsx")


def contacts_download():
    """GET /admin/download/contacts — every region's contact as an Excel sheet (admins)."""
    from pipelines.workflow import contacts

    def build(con):
        buf = io.BytesIO()
        contacts.write_contacts_sheet(con, buf)
        return buf.getvalue()
    return _send_xlsx(_store().read(build), "地区联系人.xlsx")


ARCHIVE_ROUTE = "/download/archive/"     # + submission id: the original file behind a figure

MEDIA_TYPES = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12"}


def may_download_archive(allowed: set | None, regions) -> bool:
    """A submission's original may be downloaded by an admin (allowed None) or by a reporter
    whose scope holds every region of the file."""
    return allowed is None or bool(regions) and set(regions) <= allowed


def archive_download(submission_id: int):
    """GET /download/archive/<id> — the original file of an accepted submission, as archived at
    upload (PATH_RULES: submit; the region scope is checked here)."""
    from pipelines.returns.submission_info import archived_file
    user = flask.g.get("ybjc_user")
    if user is None:
        return _fail(401, "请先登录")
    store = _store()

    def look(con):
        return archived_file(con, submission_id), accounts.allowed_regions(con, user)
    found, allowed = store.read(look)
    if found is None:
        return _fail(404, f"没有编号为 {submission_id} 的已接收报送，无法下载原始文件")
    file_name, archive_path, regions = found
    if not may_download_archive(allowed, regions):
        return _fail(403, f"报送 {submission_id}（{file_name}）含有不属于您报送范围的地区，"
                          "只有管理员或上级单位的填报员可以下载其原始文件")
    root = Path(store.archive_dir).resolve()
    path = Path(archive_path).resolve() if archive_path else None
    if path is None or not path.is_relative_to(root) or not path.is_file():
        return _fail(404, f"报送 {submission_id}（{file_name}）的原始文件不在归档目录中"
                          "（可能是在启用归档前载入的数据），请联系报送单位重新提供")
    resp = flask.Response(path.read_bytes(), mimetype=MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream"))
    resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(file_name)}"
    return resp


def register_downloads(server) -> None:
    server.add_url_rule(ARCHIVE_ROUTE + "<int:submission_id>", "ybjc_archive_file", archive_download)
    server.add_url_rule("/admin/download/contacts", "ybjc_contacts_xlsx", contacts_download)
    server.add_url_rule("/admin/download/accounts", "ybjc_accounts_xlsx", accounts_download)
    server.add_url_rule("/download/template", "ybjc_template", template_download)
    server.add_url_rule("/admin/download/targets", "ybjc_targets_xlsx", targets_download)
    server.add_url_rule("/admin/download/regions", "ybjc_regions_xlsx", regions_download)
