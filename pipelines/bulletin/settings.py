"""The bulletin's per-jurisdiction settings (settings table, keys `bulletin.<code>.<name>`).

Migration 5 gives the five seed jurisdictions their values; an analyst changes a row of the
`settings` table. Every value is checked here before a file is written: a wrong setting stops
the export with a Chinese message naming the key, never a document with a broken 版头 or 版记.

    authority    发文机关全称                       温岭市医疗保障局
    doc_prefix   机关代字（发文字号中〔年份〕之前）  温医保发
    cc           抄送机关，以“，”分隔               温岭市人民政府办公室，台州市医疗保障局
    printer      印发机关                           温岭市医疗保障局办公室
    report_days  整改情况报送期限（成文日期后天数） 15
"""
from __future__ import annotations

import re
from dataclasses import dataclass

CJK = r"\u4e00-\u9fff"
NAME = re.compile(rf"^[{CJK}（）()·]{{2,40}}$")
PREFIX = re.compile(rf"^[{CJK}]{{2,8}}$")
REQUIRED = ("authority", "doc_prefix", "printer", "report_days")


class SettingsError(ValueError):
    """A bulletin setting is missing or malformed (Chinese message naming the key)."""


@dataclass(frozen=True)
class BulletinSettings:
    authority: str
    doc_prefix: str
    cc: tuple[str, ...]
    printer: str
    report_days: int

    def doc_number(self, year: int, serial: int | None) -> str:
        """'温医保发〔2024〕12号'; without a serial the number is left for the office to write."""
        return f"{self.doc_prefix}〔{year}〕{serial if serial is not None else '　　'}号"


def parse(code: str, raw: dict[str, str]) -> BulletinSettings:
    """Validate the raw `settings` rows of jurisdiction `code` (prefix already removed)."""
    key = f"bulletin.{code}."
    missing = [k for k in REQUIRED if not str(raw.get(k, "")).strip()]
    if missing:
        raise SettingsError(f"通报设置缺失：settings 表中没有 {'、'.join(key + k for k in missing)}，"
                            "请补充后再生成通报")
    authority = raw["authority"].strip()
    if not NAME.match(authority):
        raise SettingsError(f"通报设置 {key}authority（发文机关）“{authority}”无效：应为2—40个汉字的机关全称")
    prefix = raw["doc_prefix"].strip()
    if not PREFIX.match(prefix):
        raise SettingsError(f"通报设置 {key}doc_prefix（机关代字）“{prefix}”无效：应为2—8个汉字，"
                            "不含年份、括号和数字，如“温医保发”")
    printer = raw["printer"].strip()
    if not NAME.match(printer):
        raise SettingsError(f"通报设置 {key}printer（印发机关）“{printer}”无效：应为2—40个汉字的机关名称")
    cc_text = str(raw.get("cc", "") or "").strip()
    cc = tuple(part.strip() for part in re.split(r"[，,、]", cc_text) if part.strip()) if cc_text else ()
    for name in cc:
        if not NAME.match(name):
            raise SettingsError(f"通报设置 {key}cc（抄送机关）中的“{name}”无效：每个抄送机关应为2—40个汉字，"
                                "机关之间用“，”分隔")
    try:
        days = int(str(raw["report_days"]).strip())
    except ValueError:
        days = -1
    if not 1 <= days <= 90:
        raise SettingsError(f"通报设置 {key}report_days（整改报送期限）“{raw['report_days']}”无效："
                            "应为1—90之间的整数（成文日期后的天数）")
    return BulletinSettings(authority, prefix, cc, printer, days)


def load(m, code: str) -> BulletinSettings:
    """The validated settings of jurisdiction `code`, read through the Metrics API."""
    return parse(code, m.settings(f"bulletin.{code}."))
