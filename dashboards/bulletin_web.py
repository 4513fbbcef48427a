"""The quarterly bulletin from the web (系统管理 → 季度通报): written by the server for an admin,
offered for download. The figures are read on a cursor of the server's own connection (no
second process, no lock); only the audit line goes through the write path.

Files of one export live in <warehouse dir>/bulletins/<token>/ (token: 32 hex digits); they
are served by GET /admin/bulletin/<token>/<file>, behind the /admin access rule.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import secrets
import shutil
import zipfile
from pathlib import Path
from urllib.parse import quote

import flask

from .errors import json_error

TOKEN = re.compile(r"^[0-9a-f]{32}$")
NOTICES_ZIP = "一地一单.zip"


class BulletinRequestError(ValueError):
    """The request cannot be served (Chinese message); nothing was written."""


def _store():
    return flask.current_app.extensions["ybjc_store"]


def exports_dir() -> Path:
    return _store().db_path.parent / "bulletins"


def scope(con, user) -> set[str] | None:
    """Regions an admin may write bulletins for: an admin bound to a region, that region and
    below; an unbound admin, all (None)."""
    if user.region_code:
        from pipelines.db import subtree
        return subtree(con, user.region_code)
    return None


def choices(con, user) -> tuple[list[dict], dict[str, list[str]]]:
    """(jurisdiction options, their closed quarters with data, newest first)."""
    from pipelines.metrics import Metrics
    m = Metrics(con)
    allowed = scope(con, user)
    today = dt.date.today()
    options, quarters = [], {}
    for _, j in m.jurisdictions().iterrows():
        code = str(j["code"])
        if allowed is not None and code not in allowed:
            continue
        qs = set(m.periods(code, "Q"))
        qs |= {f"{p[:4]}Q{(int(p[5:7]) - 1) // 3 + 1}" for p in m.periods(code, "M")}
        closed = sorted((q for q in qs if _closed(q, today)), reverse=True)
        options.append({"label": str(j["name"]), "value": code})
        quarters[code] = closed
    return options, quarters


def _closed(code: str, today: dt.date) -> bool:
    y, q = int(code[:4]), int(code[-1])
    return dt.date(y + (q == 4), (3 * q) % 12 + 1, 1) <= today


def generate(user, jurisdiction: str, quarter: str, issue_date: str | None, serial,
             per_region: bool) -> dict:
    """Write the bulletin; returns {'token', 'files': [(label, name)], 'notes', 'doc_number'}.
    Raises BulletinRequestError with a Chinese message (nothing kept)."""
    from pipelines import db
    from pipelines.bulletin import write_bulletin
    from pipelines.bulletin.collect import BulletinInputError
    from pipelines.bulletin.settings import SettingsError
    try:
        date = dt.date.fromisoformat((issue_date or "").strip()) if issue_date else None
    except ValueError:
        raise BulletinRequestError(f"成文日期“{issue_date}”无法识别：请写成 2024-07-15") from None
    if serial in ("", None):
        number = None
    else:
        try:
            number = int(serial)
        except (TypeError, ValueError):
            number = -1
        if not 1 <= number <= 9999:
            raise BulletinRequestError(f"发文字号序号“{serial}”无效：应为1—9999的整数")
    token = secrets.token_hex(16)
    out = exports_dir() / token

    def build(con):
        allowed = scope(con, user)
        if allowed is not None and jurisdiction not in allowed:
            raise BulletinRequestError(f"您只能生成本地区（{user.region_code}）及下级地区的通报，"
                                       f"不能生成 {jurisdiction} 的通报")
        return write_bulletin(con, quarter, region=jurisdiction, out_dir=out, user=user.name,
                              issue_date=date, serial=number, per_region=per_region, audit=False)
    try:
        paths = _store().read(build)
    except (BulletinInputError, SettingsError, ValueError) as exc:
        shutil.rmtree(out, ignore_errors=True)
        raise BulletinRequestError(str(exc)) from None
    files = [(label, paths[k].name) for k, label in (("docx", "Word"), ("xlsx", "Excel 附表"), ("pdf", "PDF"))
             if paths.get(k) is not None]
    if paths.get("notices"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for n in paths["notices"]:
                for k in ("docx", "pdf"):
                    if n.get(k) is not None:
                        z.write(n[k], n[k].name)
        (out / NOTICES_ZIP).write_bytes(buf.getvalue())
        files.append((f"一地一单（{len(paths['notices'])}份）", NOTICES_ZIP))
    detail = {"quarter": quarter, "files": {k: str(paths[k]) for k in ("docx", "xlsx", "pdf")
                                            if paths.get(k) is not None},
              "notes": paths["notes"], "channel": "web", "token": token}
    _store().write(lambda con: db.audit(con, user.name, "bulletin.export", f"{jurisdiction} {quarter}",
                                        "ok" if paths.get("pdf") is not None else "partial", detail))
    return {"token": token, "files": files, "notes": paths["notes"]}


def download(token: str, name: str):
    """GET /admin/bulletin/<token>/<name> — one file of an export."""
    if not TOKEN.match(token) or "/" in name or "\\" in name or name.startswith("."):
        return json_error(404, "文件不存在：请重新生成通报")
    path = exports_dir() / token / name
    if not path.is_file():
        return json_error(404, "文件不存在或已过期，请重新生成")
    resp = flask.send_file(path, as_attachment=True, download_name=name)
    resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return resp


def register(server) -> None:
    server.add_url_rule("/admin/bulletin/<token>/<path:name>", "ybjc_bulletin_file", download)
