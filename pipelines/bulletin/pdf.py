"""PDF of the Word bulletin through LibreOffice headless (one private profile per call).

The fonts the document names (仿宋_GB2312, 黑体, 方正小标宋简体 …) are resolved through
pipelines/bulletin_fonts.conf, which this module passes to LibreOffice as FONTCONFIG_FILE so
that the conversion renders Chinese correctly without `make`.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

FONTS_CONF = Path(__file__).resolve().parent.parent / "bulletin_fonts.conf"
TIMEOUT_S = 180


class PdfUnavailable(RuntimeError):
    """The PDF could not be produced; the message is Chinese and says what to do."""


def find_office() -> str | None:
    for name in ("libreoffice", "soffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


def to_pdf(docx: Path, out_dir: Path, office: str | None = None) -> Path:
    """Convert docx → out_dir/<stem>.pdf. Raises PdfUnavailable with a Chinese reason."""
    return to_pdfs([docx], out_dir, office)[0]


def to_pdfs(docxs: list[Path], out_dir: Path, office: str | None = None) -> list[Path]:
    """Convert several .docx in one LibreOffice start (its start-up is most of the time)."""
    docx = docxs[0]
    office = office or find_office()
    if office is None:
        raise PdfUnavailable("未找到 LibreOffice（libreoffice / soffice），已生成 Word 和 Excel，"
                             "未生成 PDF。安装 libreoffice-writer-nogui 后重新导出即可得到 PDF。")
    env = dict(os.environ)
    env["FONTCONFIG_FILE"] = str(FONTS_CONF)
    env.setdefault("HOME", tempfile.gettempdir())
    profile = Path(tempfile.mkdtemp(prefix="lo_"))
    work = Path(tempfile.mkdtemp(prefix="lo_out_"))
    try:
        cmd = [office, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--convert-to", "pdf", "--outdir", str(work), *[str(d) for d in docxs]]
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise PdfUnavailable(f"LibreOffice 转换 PDF 超时（{TIMEOUT_S} 秒），已生成 Word 和 Excel。"
                                 "请稍后重试，或用 Word/WPS 打开 .docx 另存为 PDF。") from None
        results = []
        for docx in docxs:
            produced = work / (docx.stem + ".pdf")
            if proc.returncode != 0 or not produced.exists():
                detail = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or [""]
                raise PdfUnavailable(f"LibreOffice 未能把 {docx.name} 转为 PDF（退出码 {proc.returncode}："
                                     f"{detail[0]}），已生成 Word 和 Excel。请用 Word/WPS 打开后另存为 PDF。")
            target = docx.parent / produced.name if out_dir is None else out_dir / produced.name
            shutil.move(str(produced), target)
            results.append(target)
        return results
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
