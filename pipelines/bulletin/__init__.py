"""The quarterly bulletin (季度通报): Word (公文 layout), Excel annex, PDF.

    from pipelines.bulletin import write_bulletin
    paths = write_bulletin(con, "2024Q3", region="350900", out_dir="out")
    # {'docx': Path, 'xlsx': Path, 'pdf': Path | None, 'notes': [Chinese messages]}

Every number comes from the Metrics API (collect.py); the same warehouse state (or `as_of`)
gives the same numbers. By default (setting `bulletin.reviewed_only`, true) the figures count
reviewed data only — `Metrics(reviewed_only=True)`: per region, indicator and period the latest
value approved in review — and the bulletin lists the submissions still 待审核 or 退回. Each export is recorded in the audit log ('bulletin.export').
"""
from __future__ import annotations

import datetime as dt
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipelines import db
from .collect import as_quarter, collect
from .model import Bulletin

__all__ = ["write_bulletin", "write_one", "file_stem", "reviewed_only_setting"]


def reviewed_only_setting(con) -> bool:
    """Setting `bulletin.reviewed_only` (migration 8: true): count approved values only."""
    row = db.first_row(con.execute("SELECT value FROM settings WHERE key = 'bulletin.reviewed_only'"))
    return row is None or str(row[0]).strip().lower() not in ("false", "0", "no", "否")

def file_stem(b: Bulletin) -> str:
    return f"{b.jurisdiction_name}_{b.quarter.code}_医保便民服务指标通报"


def write_one(m, quarter, region: str, out_dir: Path, pdf: bool = True, issue_date=None,
              serial: int | None = None, per_region: bool = False) -> tuple[Bulletin, dict]:
    """Collect and write one region's bulletin; returns (content, paths).

    paths: docx, xlsx, pdf (None without LibreOffice), notes, and with per_region `notices`:
    [{'region', 'docx', 'pdf'}] in a folder beside the bulletin. All PDFs come from one
    LibreOffice start, which runs while this process writes the Excel annex."""
    from .charts import status_heatmap
    from .docx_writer import report_by, write_docx
    from .notice import write_notice
    from .pdf import PdfUnavailable, to_pdfs
    from .xlsx_writer import write_xlsx
    b = collect(m, quarter, region, issue_date=issue_date, serial=serial)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(b)
    result: dict = {"docx": out_dir / f"{stem}.docx", "xlsx": out_dir / f"{stem}_附表.xlsx",
                    "pdf": None, "notes": []}
    with tempfile.TemporaryDirectory(prefix="bulletin_charts_") as tmp:
        heat = status_heatmap(b.sections, b.child_term, Path(tmp) / "heatmap.png")
        write_docx(b, result["docx"], {"heatmap": heat})
    docxs = [result["docx"]]
    if per_region:
        folder = out_dir / f"{stem}_一地一单"
        folder.mkdir(exist_ok=True)
        kids = b.regions[b.regions["parent_code"] == b.jurisdiction_code] if b.regions is not None else []
        result["notices"] = []
        for _, kid in kids.iterrows():
            path = folder / f"{kid['name']}_{b.quarter.code}_通知单.docx"
            write_notice(b, str(kid["code"]), str(kid["name"]), path, report_by(b))
            result["notices"].append({"region": str(kid["code"]), "docx": path, "pdf": None})
            docxs.append(path)
    with ThreadPoolExecutor(max_workers=1) as pool:
        conversion = pool.submit(to_pdfs, docxs, None) if pdf else None
        write_xlsx(b, result["xlsx"])
        if conversion is not None:
            try:
                pdfs = conversion.result()
                result["pdf"] = pdfs[0]
                for notice, p in zip(result.get("notices", []), pdfs[1:]):
                    notice["pdf"] = p
            except PdfUnavailable as exc:
                result["notes"].append(str(exc))
    if b.data_as_of is not None and b.data_as_of.date() > b.issue_date:
        result["notes"].append(f"数据截至{b.data_as_of:%Y-%m-%d %H:%M}，晚于成文日期{b.issue_date:%Y-%m-%d}："
                               "请核对成文日期，或用 --as-of 按成文日期当时的数据生成")
    if b.serial is None:
        result["notes"].append("未指定发文字号序号（--serial），发文字号中的序号已留空，请由文书填写")
    return b, result


def write_bulletin(con, quarter, region: str | None = None, out_dir=".", as_of=None,
                   user: str = "cli", pdf: bool = True, issue_date=None, serial: int | None = None,
                   per_region: bool = False, audit: bool = True,
                   reviewed_only: bool | None = None) -> dict:
    """Write the bulletin files for `region` (code or name) and `quarter` (e.g. '2024Q3').

    With a region: {'docx', 'xlsx', 'pdf' (None when LibreOffice is unavailable), 'notes'}.
    With region=None: {jurisdiction_code: that dict} for every jurisdiction.
    """
    from ..metrics import Metrics
    if isinstance(as_of, str):
        as_of = dt.datetime.fromisoformat(as_of)
    q = as_quarter(quarter)
    if reviewed_only is None:
        reviewed_only = reviewed_only_setting(con)
    m = Metrics(con, as_of, reviewed_only=reviewed_only)
    out = Path(out_dir)
    codes = [m.resolve_region(region)] if region is not None else list(m.jurisdictions()["code"])
    results = {}
    from .collect import BulletinInputError
    for code in codes:
        if region is None:          # every jurisdiction: skip one with nothing this quarter
            try:
                from .collect import check_inputs
                check_inputs(m, q, code, issue_date or (m.as_of.date() if m.as_of else dt.date.today()))
            except BulletinInputError as exc:
                name = m.regions(code).iloc[0]["name"]
                results[code] = {"docx": None, "xlsx": None, "pdf": None, "skipped": True,
                                 "notes": [f"{name}：{exc}，未生成"]}
                continue
        b, paths = write_one(m, q, code, out, pdf=pdf, issue_date=issue_date, serial=serial,
                             per_region=per_region)
        detail = {"quarter": q.code, "as_of": as_of.isoformat() if as_of else None,
                  "data_as_of": b.data_as_of.isoformat() if b.data_as_of else None,
                  "indicators": len(b.sections), "demo": b.is_demo,
                  "files": {k: str(v) for k, v in paths.items()
                            if k in ("docx", "xlsx", "pdf") and v is not None},
                  "doc_number": b.doc_number, "issue_date": b.issue_date.isoformat(),
                  "reviewed_only": reviewed_only, "unreviewed": len(b.unreviewed),
                  "notes": paths["notes"]}
        if audit:
            db.audit(con, user, "bulletin.export", f"{code} {q.code}",
                     "ok" if paths["pdf"] is not None or not pdf else "partial", detail)
        results[code] = paths
    return results[codes[0]] if region is not None else results
