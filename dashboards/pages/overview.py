"""总览: headline, KPI cards of the jurisdiction itself, the district × indicator gap heatmap."""
from __future__ import annotations

import dash
from dash import html

from dashboards import ids
from dashboards.components import (empty_state, headline, kpi_card, page_frame, period_controls)
from dashboards.heatmap import heatmap
from dashboards.pagekit import Choices, register_controls, render_page
from dashboards.state import BASES, ViewState, period_label

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
        body = [
            html.H1(f"{name} {period_label(state.period)} 指标完成情况（{BASES[state.basis]}）",
                    className="page-title"),
            headline(parent, children, data_as_of, state),
        ]
        if gaps["actual"].isna().all():
            body.append(empty_state(f"{period_label(state.period)}尚无任何地区报送数据。",
                                    "各地区报送后，此处显示完成情况；未报送不按零计算。"))
        body += [
            html.H2("本级指标", className="section-title"),
            html.Div([kpi_card(row) for _, row in parent.iterrows()], id=ids.OVERVIEW_CARDS,
                     className="kpi-grid"),
            html.H2("各地区差距（点击单元格查看地区详情与数据来源）", className="section-title"),
            heatmap(gaps, state),
        ]
    return page_frame(PAGE, state, controls, body, data_as_of=data_as_of)
