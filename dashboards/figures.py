"""Plotly figures built from metrics DataFrames (the columns of the Metrics API).

Figures format what metrics returns; they never compute an indicator. Text is Chinese, the
CJK font is named explicitly, status is told by colour, symbol and word together.
"""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots
from typing import TYPE_CHECKING

from .state import period_label
from .theme import (FONT_FAMILY, RATED, SERIES_COLORS, STATUS_COLOR, STATUS_SYMBOL, fmt_number,
                    fmt_value, is_missing)

if TYPE_CHECKING:
    import pandas as pd


def base_layout(fig: go.Figure, *, height: int, meeting: bool = False, **extra) -> go.Figure:
    fg, bg = ("#F5F5F5", "#111418") if meeting else ("#1A1A1A", "#FFFFFF")
    fig.update_layout(
        font={"family": FONT_FAMILY, "size": 20 if meeting else 16, "color": fg},
        paper_bgcolor=bg, plot_bgcolor=bg, height=height,
        margin={"l": 16, "r": 24, "t": 96, "b": 40},
        hoverlabel={"font": {"family": FONT_FAMILY, "size": 16}},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0},
        **extra)
    grid = "#3A3F47" if meeting else "#E3E3E3"
    fig.update_xaxes(gridcolor=grid, zerolinecolor=grid, automargin=True)
    fig.update_yaxes(gridcolor=grid, zerolinecolor=grid, automargin=True)
    return fig


def empty_figure(message: str, *, height: int = 320, meeting: bool = False) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 22})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return base_layout(fig, height=height, meeting=meeting)


def ranking_figure(rows: pd.DataFrame, *, unit: str, title: str, meeting: bool = False) -> go.Figure:
    """Bars of every district for one indicator, best first, coloured by status, with targets.

    `rows`: metrics.gaps rows of the children (is_parent False) for one indicator.
    """
    if rows.empty:
        return empty_figure("暂无下级地区数据", meeting=meeting)
    rows = rows.assign(_order=rows["rank"].fillna(10_000)).sort_values(["_order", "sort_order"])
    names = rows["region_name"].tolist()
    actual = [None if is_missing(v) else float(v) for v in rows["actual"]]
    statuses = rows["status"].fillna("无目标").tolist()
    labels = [f"{STATUS_SYMBOL[s]} {fmt_value(a, unit)}" + ("" if s in RATED else f"（{s}）")
              if a is not None else f"{STATUS_SYMBOL[s]} {s}"
              for a, s in zip(actual, statuses)]
    hover = [f"{n}<br>实际 {fmt_value(a, unit)}<br>目标 {fmt_value(t, unit)}<br>{s}"
             for n, a, t, s in zip(names, actual, rows["target"], statuses)]
    fig = go.Figure(go.Bar(
        x=[a if a is not None else 0 for a in actual], y=names, orientation="h",
        marker={"color": [STATUS_COLOR[s] for s in statuses], "line": {"width": 0}},
        text=labels, textposition="outside", cliponaxis=False,
        hovertext=hover, hoverinfo="text", name="实际值", showlegend=False))
    targets = [None if is_missing(t) else float(t) for t in rows["target"]]
    if any(t is not None for t in targets):
        fig.add_trace(go.Scatter(
            x=targets, y=names, mode="markers", name="目标",
            marker={"symbol": "line-ns-open", "size": 34, "line": {"width": 4, "color": "#000000"
                                                                       if not meeting else "#FFFFFF"}},
            hovertext=[f"目标 {fmt_value(t, unit)}" for t in targets], hoverinfo="text"))
    paces = [float(e) if j == "reach" and not is_missing(b) and not is_missing(e) else None
             for e, j, b in zip(rows.get("expected", [None] * len(rows)),
                                rows.get("judge", [None] * len(rows)),
                                rows.get("baseline", [None] * len(rows)))]
    if any(p is not None for p in paces):          # judged on the 序时进度, not the year's target
        fig.add_trace(go.Scatter(
            x=paces, y=names, mode="markers", name="序时进度",
            marker={"symbol": "line-ns-open", "size": 34,
                    "line": {"width": 4, "color": "#888888", "dash": "dot"}},
            hovertext=[f"序时进度 {fmt_value(p, unit)}" if p is not None else "" for p in paces],
            hoverinfo="text"))
    known = [v for v in actual + targets + paces if v is not None] or [1]
    upper = max(known) * 1.22 if max(known) > 0 else 1
    fig.update_yaxes(autorange="reversed", tickfont={"size": 20 if meeting else 16})
    fig.update_xaxes(range=[min(0, min(known)), upper], title_text=unit)
    return base_layout(fig, height=max(320, 46 * len(names) + 110), meeting=meeting,
                       title={"text": title}, bargap=0.28)


def trend_figure(series: dict[str, pd.DataFrame], *, unit: str, title: str,
                 forecast: tuple[str, float] | None = None, meeting: bool = False) -> go.Figure:
    """Lines of actual values (jurisdiction first, then chosen districts) against the target
    and the 序时进度 path of the first series; optional year-end forecast point (period, value).

    Each frame: metrics.series columns (period, actual, target, expected, status, ...).
    """
    if not series or all(df.empty or df["actual"].isna().all() for df in series.values()):
        return empty_figure("该期间暂无数据", meeting=meeting)
    fig = go.Figure()
    first = next(iter(series.values()))
    label = _in_year_labeller([p for df in series.values() for p in df["period"]])
    x_first = [label(p) for p in first["period"]]
    if "target" in first and first["target"].notna().any():
        fig.add_trace(go.Scatter(x=x_first, y=first["target"], name="目标", mode="lines",
                                 line={"color": "#D55E00", "width": 3, "shape": "hv"}))
    if "expected" in first and first["expected"].notna().any():
        fig.add_trace(go.Scatter(x=x_first, y=first["expected"], name="序时进度", mode="lines",
                                 line={"color": "#888888", "width": 3, "dash": "dash"}))
    for i, (name, df) in enumerate(series.items()):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        if meeting and color == "#000000":
            color = "#FFFFFF"
        x = [label(p) for p in df["period"]]
        whole, part = _split_partial(df)
        fig.add_trace(go.Scatter(
            x=x, y=whole, name=name,
            mode="lines+markers", connectgaps=False,
            line={"color": color, "width": 5 if i == 0 else 3},
            marker={"size": 10 if i == 0 else 7},
            hovertemplate="%{x}<br>" + name + " %{y:.2f}" + unit + "<extra></extra>"))
        if any(v is not None for v in part):
            fig.add_trace(go.Scatter(
                x=x, y=part, name=f"{name}（数据不全）", mode="markers",
                marker={"size": 12, "symbol": "circle-open", "line": {"width": 2, "color": color}},
                hovertemplate="%{x}<br>" + name + " %{y:.2f}" + unit + "（数据不全，不作评价）<extra></extra>"))
    if forecast is not None and not is_missing(forecast[1]):
        at, value = label(forecast[0]), float(forecast[1])
        fig.add_trace(go.Scatter(
            x=[at], y=[value], name="年末预测", mode="markers+text",
            marker={"symbol": "diamond-open", "size": 18, "line": {"width": 3}, "color": "#0072B2"},
            text=[f"预测 {fmt_number(value, unit)}"], textposition="top center"))
    fig.update_yaxes(title_text=unit)
    return base_layout(fig, height=500, meeting=meeting, title={"text": title},
                       hovermode="x unified")


def small_multiples(panels: list[tuple[str, str, pd.DataFrame]], *, meeting: bool = False,
                    columns: int = 3) -> go.Figure:
    """One small trend chart per indicator: (indicator name, unit, metrics.series frame).

    Laid out as plain figure data (axes domains and titles as make_subplots would place them)
    and handed to plotly unvalidated: a district's dozen panels cost plotly's property
    machinery ~100 ms through make_subplots/add_trace, a few ms this way."""
    panels = [p for p in panels if not p[2].empty]
    if not panels:
        return empty_figure("该地区本年度暂无数据", meeting=meeting)
    rows = (len(panels) + columns - 1) // columns
    v_gap, h_gap = min(0.12, 0.5 / rows), 0.06
    width = (1 - h_gap * (columns - 1)) / columns
    height_share = (1 - v_gap * (rows - 1)) / rows
    fg, bg = ("#F5F5F5", "#111418") if meeting else ("#1A1A1A", "#FFFFFF")
    grid = "#3A3F47" if meeting else "#E3E3E3"
    height = max(360, 280 * rows + 150)
    layout = {
        "font": {"family": FONT_FAMILY, "size": 20 if meeting else 16, "color": fg},
        "paper_bgcolor": bg, "plot_bgcolor": bg, "height": height,
        "margin": {"l": 16, "r": 24, "t": 110, "b": 40},
        "hoverlabel": {"font": {"family": FONT_FAMILY, "size": 16}},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1 + 64 / (height - 150), "x": 0},
        "annotations": [],
    }
    data = []
    for i, (name, unit, df) in enumerate(panels):
        r, c = i // columns, i % columns
        n = "" if i == 0 else str(i + 1)
        x0 = c * (width + h_gap)
        y1 = 1 - r * (height_share + v_gap)
        axis = {"gridcolor": grid, "zerolinecolor": grid, "automargin": True}
        layout[f"xaxis{n}"] = {**axis, "domain": _domain(x0, x0 + width), "anchor": f"y{n}"}
        layout[f"yaxis{n}"] = {**axis, "domain": _domain(y1 - height_share, y1), "anchor": f"x{n}"}
        layout["annotations"].append({
            "text": _short(name), "x": x0 + width / 2, "y": y1, "xref": "paper", "yref": "paper",
            "xanchor": "center", "yanchor": "bottom", "showarrow": False,
            "font": {"size": 18 if meeting else 16}})
        on = {"xaxis": f"x{n}", "yaxis": f"y{n}"}
        x = [period_label(p)[5:] or period_label(p) for p in df["period"]]
        if df["target"].notna().any():
            data.append({"type": "scatter", "x": x, "y": _floats(df["target"]), "mode": "lines",
                         "name": "目标", "line": {"color": "#D55E00", "width": 2, "shape": "hv"},
                         "showlegend": i == 0, "legendgroup": "target", **on})
        if "expected" in df and df["expected"].notna().any():
            data.append({"type": "scatter", "x": x, "y": _floats(df["expected"]), "mode": "lines",
                         "name": "序时进度", "line": {"color": "#888888", "width": 2, "dash": "dash"},
                         "showlegend": i == 0, "legendgroup": "expected", **on})
        whole, part = _split_partial(df)
        data.append({"type": "scatter", "x": x, "y": whole, "mode": "lines+markers", "name": "实际值",
                     "line": {"color": "#FFFFFF" if meeting else "#0072B2", "width": 3},
                     "marker": {"size": 6}, "showlegend": i == 0, "legendgroup": "actual",
                     "hovertemplate": name + "<br>%{x} %{y:.2f}" + unit + "<extra></extra>", **on})
        if any(v is not None for v in part):
            data.append({"type": "scatter", "x": x, "y": part, "mode": "markers", "name": "数据不全",
                         "showlegend": False,
                         "marker": {"size": 9, "symbol": "circle-open", "line": {"width": 2}},
                         "hovertemplate": name + "<br>%{x} %{y:.2f}" + unit + "（数据不全）<extra></extra>",
                         **on})
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def _domain(lo: float, hi: float) -> list[float]:
    return [min(max(round(lo, 6), 0.0), 1.0), min(max(round(hi, 6), 0.0), 1.0)]


def _floats(values) -> list:
    return [None if is_missing(v) else float(v) for v in values]


def _split_partial(df: pd.DataFrame) -> tuple[list, list]:
    """(complete values, partial values) of a series: a partial figure is drawn apart, hollow,
    and never joined to the line as if it were the period's value."""
    statuses = df["status"] if "status" in df else [None] * len(df)
    whole, part = [], []
    for a, s in zip(df["actual"], statuses):
        v = None if is_missing(a) else float(a)
        whole.append(None if s == "数据不全" else v)
        part.append(v if s == "数据不全" else None)
    return whole, part


def _in_year_labeller(codes):
    """Chinese period labels; the year is dropped when every period is in the same year."""
    years = {str(c)[:4] for c in codes}
    if len(years) == 1:
        return lambda code: period_label(code)[5:] or period_label(code)
    return period_label


def _short(name: str, limit: int = 16) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


def reporting_rate_figure(periods: pd.DataFrame, *, title: str) -> go.Figure:
    """报送率 and 及时率 per period (ReportingRate.periods); periods not yet due have no point."""
    if periods.empty or periods["owed"].sum() == 0:
        return empty_figure("本年度还没有到期的报表，暂无报送率。", height=300)
    x = [period_label(p)[5:] if len(period_label(p)) > 5 else period_label(p)
         for p in periods["period"]]             # 1月, 第一季度: the year is in the title
    fig = go.Figure()
    for col, name, color, dash, where in (
            ("completeness", "报送率", SERIES_COLORS[0], "solid", "top center"),
            ("timeliness", "及时率", SERIES_COLORS[1], "dash", "bottom center")):
        y = [None if v is None or v != v else float(v) for v in periods[col]]
        fig.add_trace(go.Scatter(
            x=x, y=y, name=name, mode="lines+markers+text" if len(x) <= 4 else "lines+markers", connectgaps=False,
            line={"color": color, "width": 3, "dash": dash}, marker={"size": 9},
            text=[None if v is None else f"{v:.0f}%" for v in y], textposition=where,
            textfont={"color": color, "size": 14},
            hovertemplate="%{x}<br>" + name + " %{y:.1f}%<extra></extra>"))
    base_layout(fig, height=340, title={"text": title, "x": 0, "font": {"size": 18}})
    fig.update_yaxes(range=[-12, 115], tickvals=[0, 20, 40, 60, 80, 100],
                     ticktext=[f"{v}%" for v in (0, 20, 40, 60, 80, 100)], title=None)
    fig.update_xaxes(title=None, type="category")
    return fig
