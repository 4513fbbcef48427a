"""目标: the plans of a jurisdiction with every target, tier, deadline and source clause."""
from __future__ import annotations

import dash
from dash import html

from dashboards import ids
from dashboards.components import empty_state, page_frame, period_controls, table
from dashboards.pagekit import Choices, register_controls, render_page
from dashboards.state import ViewState
from dashboards.theme import fmt_target, is_missing

PAGE = ids.TARGETS
TIMING = {"year": "年度目标", "deadline": "限期目标", "from": "持续要求"}
dash.register_page(__name__, path="/targets", name="目标", title="目标 · 医保便民服务指标监测", order=4)
register_controls(PAGE, basis=False)


def layout(rendering=None, **params):
    return render_page(PAGE, params, rendering, build,
                       lambda m, state: (state, m.targets_table(state.jurisdiction)))


def build(state: ViewState, choices: Choices, targets, error: str | None = None):
    controls = period_controls(PAGE, state, choices.jurisdictions, choices.years, choices.periods,
                               basis=False)
    if error:
        body = [empty_state(error)]
    elif targets is None:
        body = [empty_state("数据仓库中还没有目标：请先运行 python -m pipelines init 载入 targets/。")]
    elif targets.empty:
        body = [empty_state("该地区没有录入目标。")]
    else:
        body = [html.H1("目标方案与逐项目标", className="page-title"),
                html.Div([_plan(plan) for _, plan in targets.groupby("plan_code", sort=False)],
                         id=ids.TARGETS_TABLE)]
    return page_frame(PAGE, state, controls, body)


def _plan(rows) -> html.Section:
    first = rows.iloc[0]
    frame = rows.copy()
    frame["target_text"] = [fmt_target(c, v, u) for c, v, u in zip(frame["comparator"], frame["value"], frame["unit"])]
    frame["timing_text"] = [_timing(r) for _, r in frame.iterrows()]
    frame["basis_text"] = frame["basis"].map({"period": "当期", "ytd": "累计", "year": "全年"}).fillna(frame["basis"])
    title = first["plan_title"] or first["plan_code"]
    return html.Section(className="plan-block", children=[
        html.H2(title, className="plan-title"),
        html.P(f"文号：{first['doc_number'] or '—'}　共 {len(frame)} 项目标", className="note"),
        table(frame, {"indicator_name": "指标", "region_name": "适用地区", "tier": "目标层级",
                      "target_text": "目标值", "timing_text": "时限", "basis_text": "口径",
                      "clause": "条款", "text": "原文"}, className="data-table targets-table"),
    ])


def _timing(r) -> str:
    kind = TIMING.get(r["timing"], r["timing"])
    if r["timing"] == "year":
        return f"{kind}：{int(r['year_from'])}年底"
    if not is_missing(r["deadline"]):
        return f"{kind}：{r['deadline']:%Y-%m-%d} 前"
    if not is_missing(r["effective"]):
        return f"{kind}：自 {r['effective']:%Y-%m-%d} 起"
    return kind
