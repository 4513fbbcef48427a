"""Charts of the bulletin (matplotlib, Agg; no pyplot, no global state): ranking and trend.

Chinese is drawn with "Noto Sans CJK SC" (fonts-noto-cjk); tests turn matplotlib's
"missing from font" warnings into errors. Labels reuse the figures' formatted strings.
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure as MplFigure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from .fmt import fmt_number, is_missing, with_unit  # noqa: E402
from .model import IndicatorSection  # noqa: E402

FONT = "Noto Sans CJK SC"
STATUS_COLOURS = {"达标": "#2e7d32", "接近": "#f9a825", "未达标": "#c62828", "无目标": "#78909c",
                  "数据不全": "#9e9e9e", "无业务": "#d6d6d6", "未报送": "#bdbdbd"}
RC = {"font.family": [FONT], "font.size": 9, "axes.unicode_minus": True,
      "axes.spines.top": False, "axes.spines.right": False, "svg.fonttype": "none"}
WIDTH_IN = 6.2
DPI = 150


def _save(fig: MplFigure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    path.write_bytes(buf.getvalue())
    return path


def ranking_chart(section: IndicatorSection, term: str, quarter_label: str, path: Path) -> Path:
    """Horizontal bars, best at the top, coloured by status, with the target as a line."""
    info = section.info
    ranked = section.ranked
    missing = [f for f in section.children if f.rank is None]
    with matplotlib.rc_context(RC):
        height = max(2.0, 0.22 * (len(ranked) + len(missing)) + 0.9)
        fig = MplFigure(figsize=(WIDTH_IN, height))
        fig.subplots_adjust(left=0.25, right=0.97, top=1 - 0.3 / height, bottom=0.55 / height)
        ax = fig.add_subplot(1, 1, 1)
        names = [f.region_name for f in ranked] + [f.region_name for f in missing]
        values = [f.actual for f in ranked] + [0.0] * len(missing)
        colours = [STATUS_COLOURS.get(f.status, "#78909c") for f in ranked] + \
                  [STATUS_COLOURS.get(f.status, "#bdbdbd") for f in missing]
        ys = list(range(len(names)))
        ax.barh(ys, values, color=colours, height=0.62)
        ax.set_yticks(ys, names)
        ax.invert_yaxis()
        top = max([v for v in values if v is not None] + [section.parent.target or 0.0, 1e-9])
        for y, f in zip(ys, ranked):
            ax.text(f.actual + top * 0.01, y, f.actual_s, va="center", fontsize=8)
        for y, f in zip(ys[len(ranked):], missing):
            ax.text(top * 0.01, y, f"{f.status}（不参与排名）", va="center", fontsize=8, color="#616161")
        target = section.parent.target
        handles = [Patch(color=STATUS_COLOURS[st], label=st) for st in STATUS_COLOURS
                   if any(f.status == st for f in section.children)]
        if target is not None:
            handles.append(ax.axvline(target, color="#c62828", linestyle="--", linewidth=1.2,
                                      label=f"目标值 {section.parent.target_u}"))
        ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8,
                  frameon=False, borderaxespad=0.2, ncols=len(handles))
        ax.set_xlim(0, top * 1.15)
        unit = "%" if info.unit == "%" else info.unit
        ax.set_xlabel(f"{info.name}（{unit}）")
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        return _save(fig, path)


def _tick_label(period: str) -> str:
    """'2024-03' → '24年3月'; '2024Q1' → '24年一季度'."""
    period = str(period)
    if "Q" in period:
        y, q = period.split("Q")
        return f"{y[2:]}年{'一二三四'[int(q) - 1]}季度"
    if "-" in period:
        y, m = period.split("-")
        return f"{y[2:]}年{int(m)}月"
    return f"{period}年"


def trend_chart(section: IndicatorSection, area: str, path: Path) -> Path | None:
    """The jurisdiction's values over time against the target and the 序时进度 path."""
    trend = section.trend
    if trend is None or trend.empty or trend["actual"].notna().sum() < 2:
        return None
    first = trend["actual"].notna().to_numpy().argmax()      # start at the first reported period
    trend = trend.iloc[first:].reset_index(drop=True)
    info = section.info
    periods = [str(p) for p in trend["period"]]
    xs = list(range(len(periods)))
    with matplotlib.rc_context(RC):
        fig = MplFigure(figsize=(WIDTH_IN, 2.6))
        fig.subplots_adjust(left=0.09, right=0.97, top=0.95, bottom=0.13)
        ax = fig.add_subplot(1, 1, 1)
        actual = [None if is_missing(v) else float(v) for v in trend["actual"]]
        ax.plot(xs, [float("nan") if v is None else v for v in actual], marker="o", markersize=3,
                color="#1565c0", linewidth=1.6, label="实际值")
        if "target" in trend and trend["target"].notna().any():
            ax.step(xs, trend["target"].astype(float), where="mid", color="#c62828",
                    linestyle="--", linewidth=1.2, label="目标值")
        if "expected" in trend and trend["expected"].notna().any():
            ax.plot(xs, trend["expected"].astype(float), color="#ef6c00", linestyle=":",
                    linewidth=1.4, label="序时进度")
        last = max((i for i, v in enumerate(actual) if v is not None), default=None)
        if last is not None:
            ax.annotate(with_unit(fmt_number(actual[last], info.unit), info.unit), (xs[last], actual[last]),
                        textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8,
                        color="#1565c0")
        step = max(1, -(-len(xs) // 8))
        ax.set_xticks(xs[::step], [_tick_label(p) for p in periods[::step]], rotation=0, fontsize=7)
        unit = "%" if info.unit == "%" else info.unit
        ax.set_ylabel(unit)
        ax.grid(axis="y", color="#e0e0e0", linewidth=0.6)
        ax.legend(loc="best", fontsize=8, frameon=False, ncols=3)
        return _save(fig, path)


HEAT_COLOURS = {"达标": "#2e7d32", "接近": "#f9a825", "未达标": "#c62828"}
HEAT_GREY = "#d9d9d9"


def status_heatmap(sections, term: str, path: Path) -> Path | None:
    """Units (rows) × indicators (columns), each cell coloured by its status: the one picture
    of who is behind where. Cells not rated are grey and say why in one character."""
    numbers = [i for i, s in enumerate(sections, 1) if s.children]   # 表1's 序号
    shown = [s for s in sections if s.children]
    if len(shown) < 2:
        return None
    units: list[str] = []
    for s in shown:
        for f in s.children:
            if f.region_name not in units:
                units.append(f.region_name)
    if len(units) < 2:
        return None
    from matplotlib.colors import to_rgb
    grid = [[to_rgb("#ffffff")] * len(shown) for _ in units]
    marks: list[tuple[int, int, str]] = []
    for j, s in enumerate(shown):
        for f in s.children:
            i = units.index(f.region_name)
            grid[i][j] = to_rgb(HEAT_COLOURS.get(f.status, HEAT_GREY))
            if f.status not in HEAT_COLOURS:
                marks.append((i, j, {"未报送": "缺", "数据不全": "不全", "无业务": "无",
                                     "无目标": "—", "未到期": ""}.get(f.status, "")))
    with matplotlib.rc_context(RC):
        height = 0.9 + 0.24 * len(units)
        fig = MplFigure(figsize=(WIDTH_IN, height))
        fig.subplots_adjust(left=0.2, right=0.99, top=1 - 0.75 / height, bottom=0.05 / height + 0.02)
        ax = fig.add_subplot(1, 1, 1)
        ax.imshow(grid, aspect="auto", interpolation="nearest")
        ax.set_yticks(range(len(units)), units, fontsize=8)
        ax.set_xticks(range(len(shown)), [str(k) for k in numbers], fontsize=8)
        ax.xaxis.tick_top()
        ax.set_xticks([x - 0.5 for x in range(1, len(shown))], minor=True)
        ax.set_yticks([y - 0.5 for y in range(1, len(units))], minor=True)
        ax.grid(which="minor", color="white", linewidth=1.2)
        ax.tick_params(which="minor", length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        for i, j, text in marks:
            ax.text(j, i, text, ha="center", va="center", fontsize=6.5, color="#424242")
        handles = [Patch(color=c, label=st) for st, c in HEAT_COLOURS.items()] + \
                  [Patch(color=HEAT_GREY, label="不作评价")]
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.45, 1.0 + 0.35 / height),
                  ncols=4, fontsize=8, frameon=False)
        return _save(fig, path)
