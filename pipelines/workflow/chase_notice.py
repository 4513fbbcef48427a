"""催报通知: a ready-to-send Word notice, one page per region, in 公文 style (GB/T 9704: A4,
margins 37/35/28/26 mm, title in 方正小标宋简体 22 pt, body 仿宋_GB2312 三号 on a fixed 28 pt
line, 主送机关 flush left, the issuing bureau and date at the right). The returns listed are
those of `Metrics.chase_list` (due and not in); the region's contact is named where known."""
from __future__ import annotations

import datetime as dt
import io

FANGSONG, HEITI, XBS = "仿宋_GB2312", "黑体", "方正小标宋简体"
BODY_PT, LINE_PT = 16, 28


def _font(run, family, size, bold=False):
    from pipelines.bulletin.gongwen import set_font
    set_font(run, family, size, bold)


def _para(doc, text="", *, font=FANGSONG, size=BODY_PT, align=None, indent=True, bold=False, before=0):
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.shared import Pt
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(LINE_PT if size <= BODY_PT else 36)
    if indent:
        fmt.first_line_indent = Pt(2 * size)
    if align is not None:
        fmt.alignment = {"center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT,
                         "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}[align]
    if text:
        _font(p.add_run(text), font, size, bold)
    return p


def chase_notice_docx(m, jurisdiction: str, chase, issued: dt.date | None = None) -> bytes:
    """The notice (bytes of a .docx) for the rows of `chase` (Metrics.chase_list), one page per
    region in the order of the region tree."""
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.shared import Mm
    issued = issued or (m.as_of or dt.datetime.now()).date()
    tree = m.reporting().tree
    bureau = f"{tree.name.get(jurisdiction, jurisdiction)}医疗保障局"
    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin = Mm(37), Mm(35), Mm(28), Mm(26)
    regions = sorted(dict.fromkeys(chase["region_code"]), key=lambda c: tree.sort_order.get(c, 0))
    for n, code in enumerate(regions):
        rows = chase[chase["region_code"] == code]
        first = rows.iloc[0]
        _para(doc, "关于报送医保便民服务指标数据的催报通知", font=XBS, size=22, align="center", indent=False)
        _para(doc)
        _para(doc, f"{first['region_name']}医疗保障局：", indent=False)
        periods = "、".join(f"{p}{f}报表" for p, f in zip(rows["period_label"], rows["frequency"]))
        latest = max(rows["due_date"])
        _para(doc, f"根据医保便民服务指标监测工作安排，截至{issued:%Y年%-m月%-d日}，贵单位{periods}"
                   f"尚未报送（最近一期截止日期为{latest:%Y年%-m月%-d日}），共 {len(rows)} 期。"
                   "请于收到本通知后3个工作日内登录医保便民服务指标监测系统补报；"
                   "如有困难，请及时与市局综合科联系。", align="justify")
        _para(doc, "附：未报送报表明细", indent=True)
        for i, (label, freq, due, days) in enumerate(zip(rows["period_label"], rows["frequency"],
                                                          rows["due_date"], rows["days_overdue"]), 1):
            _para(doc, f"{i}. {label}{freq}报表，截止日期{due:%Y年%-m月%-d日}，已逾期{days}天。")
        contact = first.get("contact")
        if contact or first.get("phone"):
            who = "、".join(x for x in (contact, first.get("phone")) if isinstance(x, str) and x)
            _para(doc, f"贵单位报送联系人：{who}。")
        _para(doc)
        _para(doc)
        _para(doc, bureau, align="right", indent=False)
        last = _para(doc, f"{issued:%Y年%-m月%-d日}", align="right", indent=False)
        if n < len(regions) - 1:
            last.add_run().add_break(WD_BREAK.PAGE)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
