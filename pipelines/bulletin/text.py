"""Chinese sentences of the bulletin, generated from the figures.

Every number in a sentence is a string already formatted on a `Figure` (or a count), so the
text can never disagree with the tables. Functions return lists of paragraphs; a paragraph
that starts with a sub-heading is returned as (heading, body).
"""
from __future__ import annotations

from .fmt import cn_count, gap_unit, with_gap_unit, with_unit
from .model import Bulletin, Figure, IndicatorSection

STATUS_WORDS = {"达标": "已达标", "接近": "接近目标", "未达标": "未达标"}
PERIOD_WORD = {"M": "个月", "Q": "个季度", "Y": "年"}


def join_names(names: list[str], limit: int = 8) -> str:
    names = list(dict.fromkeys(names))
    if len(names) > limit:
        return "、".join(names[:limit]) + f"等{len(names)}个"
    return "、".join(names)


def demo_note() -> str:
    return "本通报所用数据为系统生成的示例数据，仅供演示和测试，不代表实际工作情况。"


def coverage(b: Bulletin, fig: Figure) -> str:
    """How many units below reported, for a rolled-up value: all, or how many complete."""
    if fig.row_kind != "rollup" or not fig.expected_reporters:
        return ""
    if fig.status != "数据不全" and fig.reporters == fig.expected_reporters:
        return f"（{fig.expected_reporters}个{b.child_term}均已报送）"
    return f"（{fig.expected_reporters}个{b.child_term}中{fig.reporters or 0}个数据齐全）"


NOT_RATED_WORDS = {"数据不全": "数据不全，暂不评价", "无业务": "本期无业务，不作评价",
                   "无目标": "暂无目标值，仅作监测"}


def against_target(fig: Figure) -> str:
    """'低于目标（70%）2.45个百分点，完成率96.5%，未达标' — the figure against its target; for a
    target to reach by a deadline, against the 序时进度 value it was judged on."""
    if not fig.rated:
        return NOT_RATED_WORDS.get(fig.status, fig.note or fig.status)
    lower = fig.direction == "lower"
    target = fig.target_u
    if fig.judge == "reach" and fig.baseline is not None and fig.expected is not None:
        pace = with_unit(fig.expected_s, fig.unit)
        word = {"达标": "符合序时进度", "接近": "略低于序时进度", "未达标": "落后于序时进度"}[fig.status]
        return f"年度目标为{target}，按序时进度本期应达到{pace}，{word}"
    if fig.gap is None:
        return f"目标为{target}"
    if float(fig.gap_abs_s) == 0 and fig.gap >= 0:
        part = f"达到目标（{target}）"
    elif fig.gap < 0:
        part = (f"高于目标上限（{target}）" if lower else f"低于目标（{target}）") + fig.gap_abs_u
    else:
        part = (f"低于目标上限（{target}）" if lower else f"高于目标（{target}）") + fig.gap_abs_u
    if fig.completion is not None:
        part += f"，完成率{fig.completion_s}%"
    word = STATUS_WORDS.get(fig.status)
    return part + (f"，{word}" if word else "")


def value_sentence(b: Bulletin, subject: str, name: str, fig: Figure) -> str:
    """'全市医保电子凭证激活率为67.55%，低于目标（70%）2.45个百分点，完成率96.5%，未达标。'"""
    label = f"（{fig.judged}）" if fig.judged else ""
    if not fig.has_value:
        if fig.status == "数据不全":
            return f"{subject}{name}{label}{coverage(b, fig)}数据不全，暂不评价。"
        target = f"（目标{fig.target_u}）" if fig.target is not None else ""
        return f"{subject}{name}{target}本期未报送数据。"
    return f"{subject}{name}{label}为{fig.actual_u}{coverage(b, fig)}，{against_target(fig)}。"


def change_sentence(s: IndicatorSection) -> str:
    if not s.has_change:
        if s.previous is not None and s.previous.status == "未报送" and s.parent.has_value:
            return "上季度未报送数据，无法比较。"
        return ""
    unit = s.info.unit
    prev = s.previous.actual_u
    if s.change_sign == 0:
        return f"与上季度（{prev}）持平。"
    up, down = ("上升", "下降") if unit in ("%", "工作日") else ("增加", "减少")
    word = up if s.change_sign > 0 else down
    return f"较上季度（{prev}）{word}{with_gap_unit(s.change_s, unit)}。"


def _ranking(s: IndicatorSection) -> str:
    """'从排名看，A居首位（x），B、C并列末位（y）。' — ties named as ties, nobody first or last
    when all share one value."""
    best, worst = s.best, s.worst
    if not best or not worst:
        ranked = s.ranked
        if len(ranked) >= 2 and ranked[0].all_tied:
            return f"各{len(ranked)}个已评价单位均为{ranked[0].actual_u}，并列。"
        return ""
    def names(figs):
        joined = join_names([f.region_name for f in figs])
        return joined + ("并列" if len(figs) > 1 else "")
    return (f"从排名看，{names(best)}居首位（{best[0].actual_u}），"
            f"{names(worst)}居末位（{worst[0].actual_u}）。")


NAMED_STATUSES = (("达标", "达标"), ("接近", "接近目标"), ("未达标", "未达标"),
                  ("数据不全", "数据不全"), ("无业务", "无业务"), ("未报送", "未报送"))


def districts_sentence(b: Bulletin, s: IndicatorSection) -> str:
    kids = [k for k in s.children if k.status != "未到期"]
    if not kids:
        return ""
    term = b.child_term
    counts = {st: len(s.children_with(st)) for st, _ in NAMED_STATUSES}
    parts = [f"{label}{counts[st]}个" for st, label in NAMED_STATUSES if counts[st]]
    text = ""
    reported = [k for k in kids if k.status != "未报送"]
    if not reported:
        text = f"各{term}均未报送数据。"
    elif all(k.status == "无目标" for k in reported):
        text = f"该指标目标未分解到各{term}，{len(kids)}个{term}中{len(reported)}个报送了数据"
        if counts["未报送"]:
            text += f"，{join_names([k.region_name for k in s.children_with('未报送')])}未报送"
        text += "。"
    elif parts:
        text = f"{len(kids)}个{term}中，" + "、".join(parts) + "。"
        unrated = [k.region_name for k in kids if k.status in ("数据不全", "无业务")]
        if unrated:
            text += f"{join_names(unrated)}本期不作评价、不参与排名。"
    return text + _ranking(s)


def overall_paragraphs(b: Bulletin) -> list[str]:
    q, area = b.quarter.label, b.area
    n = len(b.sections)
    if n == 0:
        return [f"{q}，{area}暂无纳入监测且有目标或数据的医保便民服务指标。"]
    c = b.status_counts()
    judged = c["达标"] + c["接近"] + c["未达标"]
    first = f"{q}，{area}纳入监测的医保便民服务指标共{n}项。"
    if judged:
        parts = [f"{label}{c[st]}项" for st, label in
                 (("达标", "达标"), ("接近", "接近目标"), ("未达标", "未达标")) if c[st]]
        first += f"已设定目标且数据齐全的{judged}项中，" + "、".join(parts) + "。"
    extra = []
    if c["数据不全"]:
        extra.append(f"{c['数据不全']}项数据不全、暂不评价")
    if c["无业务"]:
        extra.append(f"{c['无业务']}项本期无业务")
    if c["未报送"]:
        extra.append(f"{c['未报送']}项本期未报送数据")
    if c["无目标"]:
        extra.append(f"{c['无目标']}项暂无目标值、仅作监测")
    if extra:
        first += "另有" + "，".join(extra) + "。"
    paragraphs = [first]
    met = [s.info.name for s in b.sections if s.parent.status == "达标"]
    if met:
        paragraphs.append(f"已达标的指标为：{join_names(met, 20)}。")
    for s in b.sections:
        if s.parent.status in ("未达标", "接近"):
            paragraphs.append(value_sentence(b, area, s.info.name, s.parent) + change_sentence(s))
    paragraphs.append(f"各项指标{area}完成情况及与上季度的比较见表1。")
    if b.is_demo:
        paragraphs.append(demo_note())
    return paragraphs


def indicator_paragraphs(b: Bulletin, s: IndicatorSection) -> list[str]:
    first = value_sentence(b, b.area, s.info.name, s.parent) + change_sentence(s)
    out = [first]
    d = districts_sentence(b, s)
    if d:
        out.append(d)
    return out


def submission_paragraphs(b: Bulletin) -> list[str]:
    out = []
    for summary in b.submissions:
        total = sum(summary.counts.values())
        if total == 0:
            continue
        c = summary.counts
        parts = [f"{label}{c[st]}份" for st, label in
                 (("按时", "按时报送"), ("逾期", "逾期报送"), ("已更正", "报送后更正"),
                  ("未报送", "未报送"), ("未到期", "尚未到报送期限")) if c[st]]
        text = f"本季度应报{summary.label}{total}份，其中" + "、".join(parts) + "。"
        if summary.names["未报送"]:
            text += f"未报送的单位：{join_names(summary.names['未报送'], 12)}。"
        if summary.names["逾期"]:
            text += f"逾期报送的单位：{join_names(summary.names['逾期'], 12)}。"
        if summary.names["已更正"]:
            text += f"提交更正数据的单位：{join_names(summary.names['已更正'], 12)}，以更正后的数据为准。"
        out.append(text)
    if not out:
        out.append("本季度暂无应报数据的报送记录。")
    return out


def streak_items(b: Bulletin) -> list[str]:
    """'医保电子凭证激活率：周宁县、寿宁县连续两个季度未达标' for every streak of two or more."""
    items = []
    for s in b.sections:
        by_length: dict[int, list[str]] = {}
        word = PERIOD_WORD.get(s.parent.period_type, "期")
        for fig in [s.parent] + s.children:
            if fig.status == "未达标" and fig.streak >= 2:
                by_length.setdefault(fig.streak, []).append(fig.region_name)
        if by_length:
            parts = [f"{join_names(names)}连续{cn_count(n)}{word}未达标"
                     for n, names in sorted(by_length.items(), reverse=True)]
            items.append(f"{s.info.name}：" + "，".join(parts))
    return items


def problem_paragraphs(b: Bulletin) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    short = [s for s in b.sections if s.parent.status == "未达标"]
    if short:
        body = "；".join(f"{s.info.name}为{s.parent.actual_u}，{against_target(s.parent)}"
                        for s in short)
        out.append(("部分指标未达到目标。", f"{b.area}{body}。"))
    lines = []
    for s in b.sections:
        shorts = s.children_with("未达标")
        if not shorts:
            continue
        worst = min(shorts, key=lambda f: f.gap if f.gap is not None else 0.0)
        line = f"{s.info.name}：{join_names([f.region_name for f in shorts])}未达标"
        if worst.gap is not None and len(shorts) > 1:
            line += f"，其中{worst.region_name}差距最大（{worst.actual_u}，差{worst.gap_abs_u}）"
        elif worst.gap is not None:
            line += f"（{worst.actual_u}，差{worst.gap_abs_u}）"
        lines.append(line)
    if lines:
        out.append((f"部分{b.child_term}差距较大。", "；".join(lines) + "。"))
    streaks = streak_items(b)
    if streaks:
        out.append(("部分指标持续未达标。", "；".join(streaks) + "。"))
    missing = []
    for s in b.sections:
        names = [f.region_name for f in s.children_with("未报送") + s.children_with("数据不全")]
        if names and len(names) < len(s.children):
            missing.append(f"{s.info.name}：{join_names(names)}")
    late = [n for sub in b.submissions for n in sub.names["未报送"] + sub.names["逾期"]]
    if missing or late:
        body = ""
        if missing:
            body += ("以下指标有单位未报送或数据不全（不作评价，不计为零；汇总数只含数据齐全的单位）："
                     + "；".join(missing) + "。")
        if late:
            body += f"{join_names(late, 12)}存在逾期或未报送情况。"
        out.append(("数据报送不够及时完整。", body))
    if not out:
        out.append(("总体运行平稳。", f"本季度{b.area}各项已设目标的指标均达到目标，未发现突出问题。"))
    return out


def suggestion_paragraphs(b: Bulletin) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for s in b.sections:
        p = s.parent
        shorts = [f.region_name for f in s.children if f.status in ("未达标", "接近")]
        if p.status not in ("未达标", "接近") and not shorts:
            continue
        body = ""
        if p.status in ("未达标", "接近") and p.gap is not None:
            body += f"{b.area}距目标（{p.target_u}）尚差{p.gap_abs_u}"
            if p.needed_per_month is not None and p.months_left:
                verb = "降低" if p.direction == "lower" else "提高"
                body += (f"，{b.quarter.year}年剩余{p.months_left}个月需平均每月{verb}"
                         f"{p.needed_s}{gap_unit(p.unit)}")
            body += "。"
        if shorts:
            body += f"请{join_names(shorts)}对照目标查找差距，制定针对性措施，确保按期达标。"
        verb = "压缩" if s.info.direction == "lower" else "提升"
        out.append((f"加快{verb}{s.info.name}。", body))
    missing = [n for sub in b.submissions for n in sub.names["未报送"]]
    late = [n for sub in b.submissions for n in sub.names["逾期"]]
    if missing or late:
        body = ""
        if missing:
            body += f"请{join_names(missing, 12)}尽快补报未报送的数据。"
        if late:
            body += f"请{join_names(late, 12)}严格按规定时限报送。"
        out.append(("规范数据报送。", body + "报送数据须真实准确，发现差错及时提交更正。"))
    units = f"各{b.child_term}" if b.child_term else "各相关单位"
    out.append(("持续跟踪问效。", f"{units}要对照年度目标逐项梳理进度，"
                                   f"{b.authority}将按季度通报完成情况。"))
    return out
