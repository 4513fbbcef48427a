"""总览: headline, KPI cards of the jurisdiction itself, the district × indicator gap heatmap.

In meeting mode the page is a deck of slides that each fit one screen (1920×1080 down to
1366×768): the headline counts over the whole heatmap, then the KPI cards; `advance=` seconds
walks them on a timer."""
from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboards import ids
from dashboards.components import (empty_state, headline, kpi_card, page_frame, period_controls)
from dashboards.heatmap import heatmap
from dashboards.pagekit import PAGES_LOCATION, Choices, register_controls, render_page, state_from_search
from dashboards.state import BASES, SLIDES, ViewState, period_label

PAGE = ids.OVERVIEW
dash.register_page(__name__, path="/", name="总览", title="总览 · 医保便民服务指标监测", order=0)
register_controls(PAGE)


def layout(rendering=None, **params):
    return render_page(PAGE, params, rendering, build, _content, memoise=True)


def _content(m, state: ViewState):
    gaps = m.gaps(state.period, region=state.jurisdiction, basis=state.basis)
    return state, (gaps, m.data_as_of(state.jurisdiction))


def build(state: ViewState, choices: Choices, content, error: str | None = None):
    gaps, data_as_of = content or (None, None)
    controls = period_controls(PAGE, state, choices.jurisdictions, choices.years, choices.periods)
    if error:
        body = [empty_state(error)]
    elif choices.empty:
        body = [empty_state("数据仓库中还没有地区和目标。",
                            "请先运行 python -m pipelines init 载入 targets/，再报送或生成示例数据。")]
    elif gaps is None or gaps.empty:
        body = [empty_state(f"{period_label(state.period)}暂无可显示的指标。")]
    else:
        parent = gaps[gaps["is_parent"]]
        children = gaps[~gaps["is_parent"]]
        name = parent["region_name"].iloc[0] if not parent.empty else ""
        title = html.H1(f"{name} {period_label(state.period)} 指标完成情况（{BASES[state.basis]}）",
                        className="page-title")
        body = [html.Div([title, slide_nav(state)], className="meeting-head") if state.meeting else title]
        if not state.meeting or state.slide_key == "grid":
            body.append(headline(parent, children, data_as_of, state))
        if gaps["actual"].isna().all():
            body.append(empty_state(f"{period_label(state.period)}尚无任何地区报送数据。",
                                    "各地区报送后，此处显示完成情况；未报送不按零计算。"))
        not_due = gaps.groupby("indicator_code")["status"].agg(lambda s: bool((s == "未到期").all()))
        due_codes = set(not_due[~not_due].index)
        shown = gaps[gaps["indicator_code"].isin(due_codes)]
        resting = parent[~parent["indicator_code"].isin(due_codes)]
        cards = [
            html.H2("本级指标", className="section-title"),
            html.Div([kpi_card(row) for _, row in parent[parent["indicator_code"].isin(due_codes)].iterrows()],
                     id=ids.OVERVIEW_CARDS, className="kpi-grid"),
        ]
        grid = [
            html.H2("各地区差距（点击单元格查看地区详情与数据来源）", className="section-title"),
            heatmap(shown, state) if not shown.empty else empty_state("本期没有到期的指标。"),
        ]
        if state.meeting:       # one slide per screen: the grid alone, or the cards alone
            body += grid if state.slide_key == "grid" else cards
            return page_frame(PAGE, state, controls, body + [_advance_timer(state)], data_as_of=data_as_of)
        body += cards
        if not resting.empty:
            body.append(html.P(
                "本期未到期、不计入统计的指标：" + "、".join(
                    f"{n}（{f}）" for n, f in zip(resting["indicator_name"], resting["frequency"])) +
                "。年度指标在第四季度、12月和全年视图中显示当年数据，季度指标在季末月份显示。",
                className="note", id=ids.OVERVIEW_NOT_DUE))
        body += grid
    return page_frame(PAGE, state, controls, body + [_advance_timer(state)], data_as_of=data_as_of)


def slide_nav(state: ViewState) -> html.Nav:
    """Meeting mode: the overview's slides, the current one marked (keyboard: Tab + Enter)."""
    links = []
    for i, (key, label) in enumerate(SLIDES.items(), start=1):
        current = key == state.slide_key
        links.append(dcc.Link(f"{i}. {label}", href=state.href("overview", slide=None if key == "grid" else key),
                              className="slide-link" + (" current" if current else ""),
                              title=("当前页面：" if current else "切换到：") + label))
    return html.Nav(links, className="slides", id=ids.OVERVIEW_SLIDES, **{"aria-label": "会议页面"})


def _advance_timer(state: ViewState) -> dcc.Interval:
    seconds = state.advance_seconds
    return dcc.Interval(id=ids.OVERVIEW_ADVANCE, interval=(seconds or 3600) * 1000, disabled=not seconds)


def next_slide(state: ViewState) -> str:
    """The query string of the slide after this one (the last wraps to the first)."""
    keys = list(SLIDES)
    following = keys[(keys.index(state.slide_key) + 1) % len(keys)]
    return state.query(slide=None if following == "grid" else following)


@callback(Output(ids.control(PAGE, ids.PAGE_URL), "search", allow_duplicate=True),
          Input(ids.OVERVIEW_ADVANCE, "n_intervals"), State(PAGES_LOCATION, "search"),
          prevent_initial_call=True)
def _advance(n, search):
    state = state_from_search(search)
    if not n or not state.advance_seconds:
        return no_update
    return next_slide(state)
