"""Chinese sentences of the bulletin, generated from the figures.

Every number in a sentence is a string already formatted on a `Figure` (or a count), so the
text can never disagree with the tables. Functions return lists of paragraphs; a paragraph
that starts with a sub-heading is returned as (heading, body).
"""
from __future__ import annotations

import re

from .fmt import cn_count, gap_unit, with_gap_unit, with_unit
from .model import Bulletin, Figure, IndicatorSection

STATUS_WORDS = {"达标": "已达标", "接近": "接近目标", "未达标": "未达标"}
PERIOD_WORD = {"M": "个月", "Q": "个季度", "Y": "年"}


def join_names(names: list[str], limit: int = 8, noun: str = "个") -> str:
    """'A、B、C'; beyond `limit`, 'A、…、H等12个' (noun: 个 for units, 项指标 for indicators)."""
    names = list(dict.fromkeys(names))
    if len(names) > limit:
        return "、".join(names[:limit]) + f"等{len(names)}{noun}"
    return "、".join(names)


def demo_note() -> str:
    return "本通报所用数据为系统生成的示例数据，仅供演示和测试，不代表实际工作情况。"


def coverage(b: Bulletin, fig: Figure) -> str:
    """How many units below reported, for a rolled-up value: all, or how many complete."""
    if fig.row_kind != "rollup" or not fig.expected_reporters:
        return ""
    if fig.status != "数据不全" and fig.reporters == fig.expected_reporters:
        return f"，{fig.expected_reporters}个{b.child_term}均已报送"
    return f"，{fig.expected_reporters}个{b.child_term}中{fig.reporters or 0}个数据齐全"


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
            return f"{subject}{name}{label}{coverage(b, fig)}，数据不全，暂不评价。".replace("，，", "，")
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


# ---- the 通报's paragraphs: data-driven sentences ------------------------------------------

COUNT_UNITS = {"家", "个", "项", "次"}
DOC_NUMBER = re.compile(r"〔\d{4}〕\d+号$")


def verb(direction: str, unit: str) -> str:
    """The verb for closing a gap: 压缩 a time limit, 降低 another lower-is-better figure, 增加 a
    count, 提高 a rate or a mean."""
    if direction == "lower":
        return "压缩" if unit == "工作日" else "降低"
    return "增加" if unit in COUNT_UNITS else "提高"


def units_phrase(names: list[str], total: int, term: str, limit: int = 5) -> str:
    """'各镇（街道）' when it is all of them; 'A、B' for a few; 'A、B、C等11个镇（街道）' beyond."""
    names = list(dict.fromkeys(names))
    if total and len(names) == total and total > 1:
        return f"各{term}" if term else "各单位"
    if len(names) > limit:
        return "、".join(names[:3]) + f"等{len(names)}个{term or '单位'}"
    return "、".join(names)


def plan_citation(b: Bulletin) -> str:
    """'《温岭市…方案（2023—2025年）》（温医保发〔2023〕13号）' — the plan most targets come from;
    the 文号 only when the plan has one."""
    plan = b.plan
    if not plan:
        return ""
    title, number = plan.get("title"), plan.get("doc_number") or ""
    # GB/T 15834: a title inside a title takes 〈〉
    cite = "《" + title.replace("《", "〈").replace("》", "〉") + "》"
    if DOC_NUMBER.search(number):
        cite += f"（{number}）"
    return cite


def intro_paragraph(b: Bulletin) -> str:
    cite = plan_citation(b)
    basis = f"按照{cite}要求，" if cite else ""
    return f"{basis}现将{b.quarter.label}{b.area}医保便民服务指标完成情况通报如下。"


def short_against(fig: Figure) -> str:
    """'低于目标值（70%）2.45个百分点' / '比目标时限（10个工作日）多2.50个工作日' / '达到目标值'."""
    if fig.judge == "reach" and fig.baseline is not None and fig.expected is not None \
            and fig.expected != fig.target:
        pace = with_unit(fig.expected_s, fig.unit)
        gap = with_gap_unit(fig.gap_abs_s, fig.unit) if fig.gap is not None and fig.gap < 0 else ""
        word = "落后于序时进度" + (f"{gap}" if gap else "") if fig.status != "达标" else "符合序时进度"
        return f"序时进度应达到{pace}，{word}"
    if fig.gap is None:
        return f"目标值为{fig.target_u}"
    if fig.gap >= 0 or float(fig.gap_abs_s) == 0:
        return f"达到目标值（{fig.target_u}）"
    if fig.direction == "lower":
        return f"超出目标上限（{fig.target_u}）{fig.gap_abs_u}"
    return f"低于目标值（{fig.target_u}）{fig.gap_abs_u}"


def overall_short(b: Bulletin) -> list[str]:
    q, area = b.quarter.label, b.area
    n = len(b.sections)
    if n == 0:
        return [f"{q}，{area}暂无纳入监测且有目标或数据的医保便民服务指标。"]
    c = b.status_counts()
    judged = c["达标"] + c["接近"] + c["未达标"]
    first = f"{q}，{area}纳入通报的医保便民服务指标{n}项"
    if judged:
        parts = [f"{label}{c[st]}项" for st, label in
                 (("达标", "达标"), ("接近", "接近目标"), ("未达标", "未达标")) if c[st]]
        first += f"，已设定目标且数据齐全的{judged}项中" + "、".join(parts)
    extra = [f"{c[st]}项{word}" for st, word in
             (("数据不全", "数据不全、暂不评价"), ("无业务", "本期无业务"), ("未报送", "未报送数据"),
              ("无目标", "暂无目标值、仅作监测")) if c[st]]
    if extra:
        first += "；另有" + "，".join(extra)
    first += "。"
    if b.not_due:
        first += f"{join_names(b.not_due, 6, '项指标')}为年度指标，本季度未到期，将在第四季度通报。"
    out = [first]
    short = [s for s in b.sections if s.parent.status in ("未达标", "接近")]
    if short:
        out.append("未达到目标的指标：" + "；".join(
            f"{s.info.name}{'为' + s.parent.actual_u if s.parent.has_value else ''}，"
            f"{short_against(s.parent)}" for s in short) + "。")
    tail = "各项指标完成情况见表1"
    if b.has_heatmap:
        tail += f"，各{b.child_term}达标情况见图1"
    out.append(tail + "。")
    if b.is_demo:
        out.append(demo_note())
    return out


def final_paragraph(b: Bulletin) -> str | None:
    """终期 summary when this quarter closes the plan (its last year's fourth quarter)."""
    if not b.closes_plan:
        return None
    judged = [s for s in b.sections if s.parent.rated]
    met = [s for s in judged if s.parent.status == "达标"]
    missed = [s for s in judged if s.parent.status != "达标"]
    unrated = [s for s in b.sections if not s.parent.rated and s.parent.status != "无目标"]
    cite = plan_citation(b) or "工作方案"
    text = f"{b.quarter.label}是{cite}实施期的最后一个季度。"
    if judged and len(met) == len(judged) == len(b.sections):
        return text + f"方案确定的{len(met)}项指标全部完成终期目标。"
    text += f"方案确定的指标中，{len(judged)}项可以评定终期完成情况："
    text += "均已完成终期目标" if len(met) == len(judged) else f"完成终期目标{len(met)}项"
    if missed:
        text += f"，未完成{len(missed)}项：" + "；".join(
            f"{s.info.name}{short_against(s.parent)}" for s in missed)
    text += "。"
    if unrated:
        text += f"{join_names([s.info.name for s in unrated], 6, '项指标')}数据不全或未报送，无法评定终期完成情况。"
    return text


def praise_paragraph(b: Bulletin) -> str | None:
    """表扬: units all of whose rated indicators are 达标 (at least two rated), else the
    first-placed units per indicator (ties named, nobody first among equals)."""
    if not b.child_term:
        return None
    tally: dict[str, list[int]] = {}
    order: list[str] = []
    for s in b.sections:
        for f in s.children:
            if f.rated:
                t = tally.setdefault(f.region_name, [0, 0])
                if f.region_name not in order:
                    order.append(f.region_name)
                t[1] += 1
                t[0] += f.status == "达标"
    perfect = [n for n in order if tally[n][1] >= 2 and tally[n][0] == tally[n][1]]
    parts = []
    if perfect:
        counts = {tally[n][1] for n in perfect}
        each = f"参与评价的{counts.pop()}项指标全部达标" if len(counts) == 1 else "参与评价的指标全部达标"
        parts.append(f"{units_phrase(perfect, len(order), b.child_term, 8)}{each}，予以表扬。")
    level = [f"{s.info.name}各{b.child_term}均为{s.ranked[0].actual_u}"
             for s in b.sections if len(s.ranked) >= 2 and s.ranked[0].all_tied
             and all(f.status == "达标" for f in s.ranked)]
    if level:
        parts.append("；".join(level) + "，全部达标。")
    firsts = []
    for s in b.sections:
        best = s.best
        if best and len(best) <= 3:
            names = "、".join(f.region_name for f in best)
            firsts.append(f"{s.info.name}为{names}{'（并列，' if len(best) > 1 else '（'}{best[0].actual_u}）")
        elif best:              # a crowd at the top: counted, not listed
            firsts.append(f"{s.info.name}有{len(best)}个{b.child_term}并列（{best[0].actual_u}）")
    if firsts:
        parts.append("各项指标居首位的单位：" + "；".join(firsts) + "。")
    return "".join(parts) or None


def value_groups(figs: list[Figure]) -> list[list[Figure]]:
    """Figures grouped on their value as displayed (ties stay together), in the given order."""
    groups: list[list[Figure]] = []
    for f in figs:
        if groups and groups[-1][0].actual_s == f.actual_s:
            groups[-1].append(f)
        else:
            groups.append([f])
    return groups


def behind_paragraph(b: Bulletin) -> str | None:
    """通报: per indicator, the units short of the target and by how much (largest gap first;
    units with the same value named together, never one of them before the others)."""
    items = []
    for s in b.sections:
        shorts = sorted(s.children_with("未达标"), key=lambda f: f.gap if f.gap is not None else 0.0)
        if not shorts:
            continue
        groups = value_groups(shorts)
        parts = []
        for g in groups[:3]:
            names = "、".join(f.region_name for f in g)
            parts.append(f"{names}{'均' if len(g) > 1 else ''}为{g[0].actual_u}，差{g[0].gap_abs_u}")
        text = f"{s.info.name}{len(shorts)}个{b.child_term}未达标：" + "；".join(parts)
        if len(groups) > 3:
            text += f"；另有{sum(len(g) for g in groups[3:])}个{b.child_term}差距较小"
        items.append(text)
    streaks = streak_items(b)
    if not items and not streaks:
        return None
    text = "。".join(items) + ("。" if items else "")
    if streaks:
        text += "其中，" + "；".join(streaks) + "。"
    return text


def honest_status_paragraph(b: Bulletin) -> str | None:
    """报送情况 for the figures: what is 未报送, 数据不全, 无业务 — never counted as zero."""
    out = []
    term = b.child_term
    none_in = [s.info.name for s in b.sections if s.children and
               all(f.status == "未报送" for f in s.children)]
    if none_in:
        out.append(f"{join_names(none_in, 8, '项指标')}各{term}均未报送数据")
    for st, word in (("未报送", "未报送数据"), ("数据不全", "数据不全"), ("无业务", "本期无业务")):
        for s in b.sections:
            if st == "未报送" and s.info.name in none_in:
                continue
            names = [f.region_name for f in s.children_with(st)]
            if names:
                out.append(f"{s.info.name}{units_phrase(names, len(s.children), term, 8)}{word}")
    if not out:
        return None
    return "分指标看，" + "；".join(out) + "。未报送和数据不全的不计为零，不参与评价和排名。"


def submission_short(b: Bulletin) -> list[str]:
    out = []
    for summary in b.submissions:
        total = sum(summary.counts.values())
        if total == 0:
            continue
        c = summary.counts
        if c["按时"] == total:
            out.append(f"本季度应报{summary.label}{total}份，均按时报送。" + _year_rate(summary))
            continue
        parts = [f"{label}{c[st]}份" for st, label in
                 (("按时", "按时报送"), ("逾期", "逾期报送"), ("已更正", "报送后更正"),
                  ("未报送", "未报送"), ("未到期", "尚未到报送期限")) if c[st]]
        text = f"本季度应报{summary.label}{total}份，其中" + "、".join(parts) + "。"
        if summary.names["未报送"]:
            text += f"未报送的单位：{join_names(summary.names['未报送'], 12, '个单位')}。"
        if summary.names["逾期"]:
            text += f"逾期报送的单位：{join_names(summary.names['逾期'], 12, '个单位')}。"
        if summary.names["已更正"]:
            text += f"提交更正数据的单位：{join_names(summary.names['已更正'], 12, '个单位')}，以更正后的数据为准。"
        out.append(text + _year_rate(summary))
    honest = honest_status_paragraph(b)
    if honest:
        out.append(honest)
    if not out:
        out.append("本季度暂无应报数据的报送记录。")
    return out


def _year_rate(summary) -> str:
    """'1—6月累计应报月报96份，报送率95.8%，及时率91.7%。' (Metrics.reporting_rate), or ''."""
    r = summary.year_rate
    if not r or not r["owed"] or summary.label == "年报":
        return ""
    last = summary.periods[-1]
    if summary.label == "月报":
        upto = int(last[5:])
        lead = f"1—{upto}月" if upto > 1 else "1月"
    else:
        upto = int(last[-1])
        lead = f"前{upto}个季度" if upto > 1 else "第一季度"
    return (f"{lead}累计应报{summary.label}{r['owed']}份，报送率{r['completeness']:.1f}%，"
            f"及时率{r['timeliness']:.1f}%。")


def catch_up(b: Bulletin, s: IndicatorSection) -> str:
    """'全市为46.61%，距年度目标（50%）还差3.39个百分点，2024年剩余6个月需平均每月提高0.57个百分点'."""
    p = s.parent
    v = verb(s.info.direction, s.info.unit)
    text = f"{s.info.name}：{b.area}为{p.actual_u}，距目标（{p.target_u}）还差{p.gap_abs_u}"
    if b.closes_plan:
        return text
    if s.info.unit in COUNT_UNITS:
        return text + f"，{b.quarter.year}年底前需{v}{p.gap_abs_u}"
    if p.needed_per_month is not None and p.months_left:
        text += (f"，{b.quarter.year}年剩余{p.months_left}个月需平均每月{v}"
                 f"{with_gap_unit(p.needed_s, s.info.unit)}")
    return text


def rectification(b: Bulletin, report_by: str) -> list[tuple[str, str]]:
    """整改要求: what must be done and by when (the date the units report back)."""
    out: list[tuple[str, str]] = []
    short = [s for s in b.sections if s.parent.status in ("未达标", "接近") and s.parent.gap is not None]
    if short:
        body = "；".join(catch_up(b, s) for s in short) + "。"
        out.append(("补齐短板。" if not b.closes_plan else "总结未完成的指标。", body))
    behind: list[str] = []
    total = 0
    for s in b.sections:
        total = max(total, len(s.children))
        behind += [f.region_name for f in s.children if f.status in ("未达标", "接近")]
    authority = b.authority
    if behind:
        who = units_phrase(behind, total, b.child_term)
        if b.closes_plan:
            body = (f"方案实施期已满，请{who}对未完成的指标逐项分析原因，形成书面总结，"
                    f"于{report_by}前报送{authority}。")
        else:
            body = (f"请{who}对照目标查找差距，制定整改措施，明确完成时限，"
                    f"于{report_by}前将整改情况书面报送{authority}。")
        out.append(("抓好整改落实。", body))
    missing = [n for sub in b.submissions for n in sub.names["未报送"]]
    late = [n for sub in b.submissions for n in sub.names["逾期"]]
    if missing or late:
        body = ""
        both = [n for n in dict.fromkeys(missing) if n in late]
        missing = [n for n in dict.fromkeys(missing) if n not in both]
        late = [n for n in dict.fromkeys(late) if n not in both]
        if both:
            body += (f"请{join_names(both, 8, '个单位')}于{report_by}前补报未报送的数据，"
                     "并严格按规定时限报送。")
        if missing:
            body += f"请{join_names(missing, 8, '个单位')}于{report_by}前补报未报送的数据。"
        if late:
            body += f"请{join_names(late, 8, '个单位')}严格按规定时限报送。"
        out.append(("规范数据报送。", body + "报送数据须真实准确，发现差错及时提交更正。"))
    if not b.closes_plan:
        units = f"各{b.child_term}" if b.child_term else "各相关单位"
        out.append(("持续跟踪问效。", f"{units}要对照年度目标逐项梳理进度，{authority}将按季度通报完成情况。"))
    return out


def nested_brackets(text: str) -> list[str]:
    """Places where a （ opens inside another （…） — GB/T 15834 wants none in running text."""
    depth, start, found = 0, 0, []
    for i, ch in enumerate(text):
        if ch == "（":
            if depth >= 1:
                found.append(text[max(0, start - 8):i + 12])
            else:
                start = i
            depth += 1
        elif ch == "）":
            depth = max(0, depth - 1)
    return found


def recipients_line(b: Bulletin) -> str:
    """主送机关 from the region tree: 各县（市、区）医疗保障局 for the county-level units, each
    开发区/新区 by name, 各镇人民政府、街道办事处 for towns; ends with the full-width colon."""
    tree = b.regions
    if tree is None or tree.empty:
        return ""
    kids = tree[tree["parent_code"] == b.jurisdiction_code]
    if kids.empty:
        return ""
    parts: list[str] = []
    levels = [str(lv or "") for lv in kids["level"]]
    names = list(kids["name"].astype(str))
    county = [n for n, lv in zip(names, levels) if lv in ("区", "县", "县级市", "市", "旗")]
    zones = [n for n, lv in zip(names, levels) if lv in ("开发区", "新区", "功能区", "高新区")]
    towns = [n for n, lv in zip(names, levels) if lv in ("镇", "乡")]
    streets = [n for n, lv in zip(names, levels) if lv == "街道"]
    other = [n for n, lv in zip(names, levels)
             if n not in county and n not in zones and n not in towns and n not in streets]
    if county:
        parts.append("各县（市、区）医疗保障局" if len(county) > 1 else f"{county[0]}医疗保障局")
    parts += zones + other
    if towns:
        parts.append("各镇人民政府" if len(towns) > 1 else f"{towns[0]}人民政府")
    if streets:
        parts.append("各街道办事处" if len(streets) > 1 else f"{streets[0]}办事处")
    if towns and streets and len(towns) > 1 and len(streets) > 1:
        parts = [p for p in parts if p not in ("各镇人民政府", "各街道办事处")] + ["各镇人民政府、街道办事处"]
    return "，".join(parts) + "："


def review_paragraph(b: Bulletin) -> str | None:
    """What review means for the figures: reviewed data only (the default) and what is still
    待审核 / 退回 (Metrics.unreviewed_submissions), or a warning that unreviewed data counts."""
    pend = b.unreviewed
    n = 0 if pend is None else len(pend)
    if n == 0:
        return "本通报只采用经上级审核通过的数据，本季度各单位报送均已审核。" if b.reviewed_only else None
    shown = [f"{r.file_name}（{r.region_names or '、'.join(r.regions)}，{r.uploaded_by}报送，{r.state}）"
             for r in pend.head(6).itertuples()]
    items = "；".join(shown) + (f"等{n}份" if n > len(shown) else "")
    when = f"截至{b.as_of:%Y年%-m月%-d日}，" if b.as_of is not None else ""
    if b.reviewed_only:
        return (f"本通报只采用经上级审核通过的数据。{when}尚有{n}份报送未审核通过，其数据未计入本通报"
                f"（已审核通过的原数据照常计入）：{items}。明细见附件“待审核报送”表。")
    return (f"本通报含未经审核的数据：{when}有{n}份报送尚未审核通过：{items}。"
            "相关数据以审核通过后为准，明细见附件“待审核报送”表。")
