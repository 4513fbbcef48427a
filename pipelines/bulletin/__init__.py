"""The quarterly bulletin (季度通报): Word (公文 layout), Excel annex, PDF.

    from pipelines.bulletin import write_bulletin
    paths = write_bulletin(con, "2024Q3", region="350900", out_dir="out")
    # {'docx': Path, 'xlsx': Path, 'pdf': Path | None, 'notes': [Chinese messages]}

Every number comes from the Metrics API (collect.py); the same warehouse state (or `as_of`)
gives the same numbers. Each export is recorded in the audit log ('bulletin.export').
"""
from __future__ import annotations

import datetime as dt
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import db
from .collect import MAX_TREND_CHARTS, as_quarter, collect
from .model import Bulletin

__all__ = ["write_bulletin", "write_one", "file_stem"]

MAX_RANKING_CHARTS = 4


def file_stem(b: Bulletin) -> str:
    return f"{b.jurisdiction_name}_{b.quarter.code}_医保便民服务指标通报"


def draw_charts(b: Bulletin, chart_dir: Path) -> dict[str, dict[str, Path | None]]:
    from .charts import ranking_chart, trend_chart
    charts: dict[str, dict[str, Path | None]] = {}
    trends = rankings = 0
    for i, s in enumerate(b.sections):
        drawn: dict[str, Path | None] = {"trend": None, "ranking": None}
        if trends < MAX_TREND_CHARTS and s.trend is not None:
            drawn["trend"] = trend_chart(s, b.area, chart_dir / f"trend_{i}.png")
            trends += drawn["trend"] is not None
        if rankings < MAX_RANKING_CHARTS and len(s.ranked) >= 2:
            drawn["ranking"] = ranking_chart(s, b.child_term, b.quarter.label,
                                             chart_dir / f"ranking_{i}.png")
            rankings += 1
        charts[s.info.code] = drawn
    return charts


def write_one(m, quarter, region: str, out_dir: Path, pdf: bool = True) -> tuple[Bulletin, dict]:
    """Collect and write one region's bulletin; returns (content, paths)."""
    from .docx_writer import write_docx
    from .pdf import PdfUnavailable, to_pdf
    from .xlsx_writer import write_xlsx
    b = collect(m, quarter, region)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(b)
    result: dict = {"docx": out_dir / f"{stem}.docx", "xlsx": out_dir / f"{stem}_附表.xlsx",
                    "pdf": None, "notes": []}
    with tempfile.TemporaryDirectory(prefix="bulletin_charts_") as tmp:
        write_docx(b, result["docx"], draw_charts(b, Path(tmp)))
    # LibreOffice converts in its own process while this one writes the Excel annex.
    with ThreadPoolExecutor(max_workers=1) as pool:
        conversion = pool.submit(to_pdf, result["docx"], out_dir) if pdf else None
        write_xlsx(b, result["xlsx"])
        if conversion is not None:
            try:
                result["pdf"] = conversion.result()
            except PdfUnavailable as exc:
                result["notes"].append(str(exc))
    return b, result


def write_bulletin(con, quarter, region: str | None = None, out_dir=".", as_of=None,
                   user: str = "cli", pdf: bool = True) -> dict:
    """Write the bulletin files for `region` (code or name) and `quarter` (e.g. '2024Q3').

    With a region: {'docx', 'xlsx', 'pdf' (None when LibreOffice is unavailable), 'notes'}.
    With region=None: {jurisdiction_code: that dict} for every jurisdiction.
    """
    from ..metrics import Metrics
    if isinstance(as_of, str):
        as_of = dt.datetime.fromisoformat(as_of)
    q = as_quarter(quarter)
    m = Metrics(con, as_of)
    out = Path(out_dir)
    codes = [m.resolve_region(region)] if region is not None else list(m.jurisdictions()["code"])
    results = {}
    for code in codes:
        b, paths = write_one(m, q, code, out, pdf=pdf)
        detail = {"quarter": q.code, "as_of": as_of.isoformat() if as_of else None,
                  "data_as_of": b.data_as_of.isoformat() if b.data_as_of else None,
                  "indicators": len(b.sections), "demo": b.is_demo,
                  "files": {k: str(v) for k, v in paths.items() if k != "notes" and v is not None},
                  "notes": paths["notes"]}
        db.audit(con, user, "bulletin.export", f"{code} {q.code}",
                 "ok" if paths["pdf"] is not None or not pdf else "partial", detail)
        results[code] = paths
    return results[codes[0]] if region is not None else results
