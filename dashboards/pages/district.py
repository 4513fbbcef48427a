"""地区: every indicator for one region — small multiples of trends against targets, the gaps
table (each value opens its provenance), the region's submission history, and — when the URL
names an indicator (a click on a heatmap cell) — that figure's sources straight away."""
from __future__ import annotations

import dash
from dash import dcc, html

from dashboards import ids
from dashboards.provenance import archive_links
from dashboards.components import (empty_state, page_frame, period_controls, prov_button,
                                   provenance_table, table)
from dashboards.figures import small_multiples
from dashboards.pagekit import Choices, register_controls, render_page
from dashboards.state import BASES, ViewState, period_label
from dashboards.tables import series_window
from dashboards.theme import (RATED, STATUS_CLASS, flag, unreviewed_mark, fmt_gap, fmt_target, fmt_value, is_missing, row_decimals,
                              status_text)
from pipelines.figure_text import judged_note, status_note

PAGE = ids.DISTRICT
dash.register_page(__name__, path="/district", name="地区", title="地区 · 医保便民服务指标监测", order=2)
register_controls(PAGE, extra={"region": (ids.DISTRICT_PICK, "value")})


def layout(rendering=None, **params):
    return render_page(PAGE, params, rendering, build, lambda m, state: (state, _content(m, state)))


def _content(m, state: ViewState) -> dict:
    tree = m.regions(state.jurisdiction)
    codes = tree["code"].tolist()
    region = state.region if state.region in codes else None
    if region is None and state.region:
        try:
            region = m.resolve_region(state.region)
        except ValueError:
            region = None
    if region not in codes:
        below = tree[tree["parent_code"] == state.jurisdiction]
        region = below["code"].iloc[0] if not below.empty else state.jurisdiction
    gaps = m.gaps(state.period, region=region, basis=state.basis)
    own = gaps[gaps["is_parent"]]
    inds = m.indicators(state.jurisdiction).set_index("code")
    shown = [c for c in own["indicator_code"] if c in inds.index and inds.loc[c, "has_data"]]
    windows: dict[tuple, list[str]] = {}             # one read per series window (M / Q / Y)
    for code in shown:
        freq, start, end, _ = series_window(inds.loc[code, "frequency"], state.year)
        windows.setdefault((freq, start, end), []).append(code)
    series = {}
    for (freq, start, end), codes in windows.items():
        series.update(m.series_many(region, codes, start, end, freq=freq, basis=state.basis))
    panels = [(inds.loc[c, "name"], inds.loc[c, "unit"], series[c]) for c in shown]
    history = []
    for frequency in ("月度", "季度", "年度"):
        status = m.submission_status(state.jurisdiction, state.year, frequency)
        mine = status[status["region_code"] == region]
        if not mine.empty:
            history.append((frequency, mine))
    prov = None
    if state.indicator and state.indicator in set(own["indicator_code"]):
        row = own[own["indicator_code"] == state.indicator].iloc[0]
        prov = m.provenance(region, state.indicator, state.period, basis=row["judged_on"] or state.basis)
    return {"tree": tree, "region": region, "own": own, "panels": panels, "history": history,
            "prov": prov}


def build(state: ViewState, choices: Choices, content: dict | None, error: str | None = None):
    controls = period_controls(PAGE, state, choices.jurisdictions, choices.years, choices.periods)
    tree = content["tree"] if content else None
    controls.insert(1, html.Label([html.Span("单位", className="control-label"), dcc.Dropdown(
        id=ids.DISTRICT_PICK, clearable=False,
        options=[] if tree is None else [{"label": ("　" * int(d)) + n, "value": c}
                                         for c, n, d in zip(tree["code"], tree["name"], tree["depth"])],
        value=content["region"] if content else None, className="pick pick-wide")],
        className="control"))
    if error:
        body = [empty_state(error)]
    elif content is None:
        body = [empty_state("数据仓库中还没有地区：请先运行 python -m pipelines init。")]
    else:
        body = _body(state, content)
    return page_frame(PAGE, state, controls, body)


def _body(state: ViewState, content: dict) -> list:
    own = content["own"]
    if own.empty:
        return [empty_state("该地区没有需要监测的指标。")]
    name = own["region_name"].iloc[0]
    when = f"{period_label(state.period)}·{BASES[state.basis]}"
    body = [html.H1(f"{name} {when}", className="page-title"),
            html.H2("各指标差距（点击数值查看数据来源）", className="section-title"),
            _gaps_table(own, state)]
    if content["prov"] is not None:             # the page opens on its gaps, the records below
        ind = own[own["indicator_code"] == state.indicator].iloc[0]
        body += [html.Div(id=ids.DISTRICT_PROVENANCE, className="panel", children=[
            html.H2(f"数据来源：{ind['indicator_name']} = {fmt_value(ind['actual'], ind['unit'], row_decimals(ind))}"
                    f"（{status_text(ind['status'])}）", className="section-title"),
            provenance_table(content["prov"], ind, archive_links())])]
    body += [
        html.H2(f"{state.year}年走势（实线为实际值，阶梯线为目标，虚线为序时进度）", className="section-title"),
        html.Div(dcc.Graph(id=ids.DISTRICT_TRENDS, figure=small_multiples(content["panels"], meeting=state.meeting),
                           config={"displaylogo": False, "displayModeBar": False}), className="panel"),
        html.H2(f"{state.year}年报送记录", className="section-title"),
        html.Div(id=ids.DISTRICT_HISTORY, children=_history(content["history"])),
    ]
    return body


def _gaps_table(own, state: ViewState) -> html.Table:
    frame = own.copy()
    frame["indicator_link"] = [dcc.Link(n, href=state.href("indicator", indicator=c, region=None))
                               for c, n in zip(frame["indicator_code"], frame["indicator_name"])]
    frame["value"] = [html.Span([prov_button(fmt_value(r["actual"], r["unit"], row_decimals(r)), r["region_code"],
                                             r["indicator_code"], r["period"], r.get("judged_on") or r["basis"]),
                                 unreviewed_mark(r)])
                      for _, r in frame.iterrows()]
    frame["target_text"] = ["—" if s == "未到期" else fmt_target(c, t, u) for c, t, u, s in
                            zip(frame["comparator"], frame["target"], frame["unit"], frame["status"])]
    frame["gap_text"] = [fmt_gap(r["gap"], r["unit"], row_decimals(r)) for _, r in frame.iterrows()]
    frame["status_badge"] = [html.Span(status_text(s), className=f"badge status-{STATUS_CLASS.get(s or '无目标')}")
                             for s in frame["status"]]
    frame["path"] = [f"{fmt_value(e, u)}（{'符合' if flag(o) else '落后'}）"
                     if j == "reach" and not is_missing(b) and s in RATED else None
                     for e, o, u, j, b, s in zip(frame["expected"], frame["on_track"], frame["unit"],
                                                 frame["judge"], frame["baseline"], frame["status"])]
    frame["forecast_text"] = [None if is_missing(f) else fmt_value(f, u) for f, u in zip(frame["forecast"], frame["unit"])]
    frame["note"] = ["；".join(t for t in (judged_note(r), status_note(r)) if t) or None
                     for _, r in frame.iterrows()]
    return table(frame, {"indicator_link": "指标", "value": "实际值", "target_text": "目标",
                         "gap_text": "差距", "status_badge": "状态", "note": "说明",
                         "streak": "连续未达标（期）", "path": "序时进度", "forecast_text": "年末预测"},
                 id=ids.DISTRICT_GAPS,
                 row_class=lambda r: "highlight" if r["indicator_code"] == state.indicator else None)


def _history(history: list) -> list:
    if not history:
        return [empty_state("该地区本年度没有应报或已报的报表记录。")]
    out = []
    for frequency, frame in history:
        frame = frame.assign(due_date=[f"{d:%Y-%m-%d}" for d in frame["due_date"]])
        out += [html.H3(f"{frequency}报表", className="subsection"),
                table(frame, {"period": "期间", "due_date": "截止日期", "status": "报送状态",
                              "first_uploaded_at": "首次上传", "last_uploaded_at": "最近上传",
                              "submissions": "文件数"}, className="data-table history-table")]
    return out
