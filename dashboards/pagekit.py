"""What every page does the same way: read the URL, pick defaults, turn controls into URLs.

A page is a pure function of its query string: `layout(rendering, **params)` builds everything
from metrics, and the controls only write a new query string (pushed to history, so 返回 goes
back to the previous view). Dash calls each layout once without arguments to learn the
component IDs (its callback validation); `rendering` is then None and the page returns its
skeleton without touching the warehouse.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import parse_qsl
from typing import TYPE_CHECKING

from dash import Input, Output, State, callback

from . import ids
from .components import period_choices
from .state import ViewState, period_label

if TYPE_CHECKING:
    import pandas as pd

PAGES_LOCATION = "_pages_location"     # Dash's own dcc.Location in dash.page_container


@dataclass
class Choices:
    """Options for the header pickers of a page."""
    jurisdictions: pd.DataFrame | None = None         # code, name; None before any lookup
    years: list[int] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.jurisdictions is None or self.jurisdictions.empty


def resolve(m, state: ViewState) -> tuple[ViewState, Choices]:
    """Fill in jurisdiction and period defaults (first plan, latest quarter with data)."""
    jur = m.jurisdictions()
    if jur.empty:
        return state, Choices(jur)
    codes = jur["code"].tolist()
    code = state.jurisdiction
    if code not in codes:
        try:
            code = m.resolve_region(code) if code else None
        except ValueError:
            code = None
        code = code if code in codes else codes[0]
        if state.jurisdiction and code != state.jurisdiction and state.jurisdiction not in codes:
            name = dict(zip(jur["code"], jur["name"]))[code]
            state = state.noting(f"参数 jurisdiction=“{state.jurisdiction}”不是本系统的辖区"
                                 f"（可选：{'、'.join(jur['name'])}），已改为显示{name}")
    have = m.periods(code, "M") + m.periods(code, "Q") + m.periods(code, "Y")
    period = state.period
    if not _valid_period(period):
        standard, why = _standard_period(period) if period else (None, "")
        if standard:
            period = standard
        else:
            quarters = m.periods(code, "Q")
            period = quarters[-1] if quarters else (have[-1] if have else _current_quarter())
        if state.period:
            state = state.noting(f"参数 period=“{state.period}”{why}，已改为显示{period_label(period)}")
    year = int(period[:4])
    years = sorted({int(p[:4]) for p in have} | {year})
    periods = period_choices(year, have)
    if period not in periods:
        periods = sorted(set(periods) | {period}, key=_period_order)
    return state.with_(jurisdiction=code, period=period), Choices(jur, years, periods)


def _valid_period(code: str | None) -> bool:
    if not code:
        return False
    from pipelines.periods import PeriodError, parse_period
    try:
        return parse_period(code).code == code
    except PeriodError:
        return False


def _standard_period(code: str | None) -> tuple[str | None, str]:
    """A period typed another way (2024年3月) → its code; else None and why not (Chinese)."""
    from pipelines.periods import PeriodError, parse_period
    try:
        return parse_period(code).code, "不是标准写法"
    except PeriodError as exc:
        return None, f"无法使用（{exc}）"


def _period_order(code: str):
    from pipelines.periods import parse_period
    p = parse_period(code)
    return (p.year, p.month_to - p.month_from, p.month_from)


def _current_quarter() -> str:
    today = dt.date.today()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def render_page(page: str, params: dict, rendering, build, content, *, memoise: bool = False):
    """The one shape of every data page's `layout(rendering, **params)`.

    `build(state, choices, content, error=None)` lays the page out; `content(m, state)` asks the
    metrics for what it shows and returns (state, content) — the state may gain defaults. A
    ValueError from the metrics (a Chinese message) becomes the page's error state. With
    `memoise`, the built layout is reused until the warehouse changes (dashboards.store).
    """
    from .store import freeze_soon, memoised_page, open_metrics
    state = ViewState.from_params(params)
    if rendering is None:                       # Dash's validation pass: no data
        return build(state, Choices(), None)

    def render():
        with open_metrics(state.as_of_time) as m:
            resolved, choices = resolve(m, state)
            if choices.empty:
                return build(resolved, choices, None)
            if state.as_of_time is not None and resolved.jurisdiction:
                freeze_soon(state.as_of_time, resolved.jurisdiction)     # a replayed meeting
            try:
                resolved, shown = content(m, resolved)
            except ValueError as exc:
                return build(resolved, choices, None, error=str(exc))
            return build(resolved, choices, shown)
    return memoised_page(page, state, render) if memoise else render()


def state_from_search(search: str | None) -> ViewState:
    return ViewState.from_params(dict(parse_qsl((search or "").lstrip("?"))))


def register_controls(page: str, *, basis: bool = True, extra: dict | None = None) -> None:
    """One callback: the page's pickers → a new query string (the router re-renders the page).

    extra: state key → (component id, property), e.g. {"indicator": (ids.INDICATOR_PICK, "value")}.
    """
    extra = extra or {}
    names = ["jurisdiction", "year", "period"] + (["basis"] if basis else [])
    inputs = [Input(ids.control(page, n), "value") for n in names]
    inputs += [Input(cid, prop) for cid, prop in extra.values()]

    @callback(Output(ids.control(page, ids.PAGE_URL), "search"), *inputs,
              State(PAGES_LOCATION, "search"), prevent_initial_call=True)
    def _navigate(*values):
        *values, search = values
        chosen = dict(zip(names + list(extra), values))
        return query_after_controls(state_from_search(search), chosen)


def query_after_controls(state: ViewState, chosen: dict) -> str:
    """The query string once the user has changed controls (pure, unit-tested)."""
    changes = {}
    if chosen.get("jurisdiction") and chosen["jurisdiction"] != state.jurisdiction:
        changes.update(jurisdiction=chosen["jurisdiction"], region=None)
    period = chosen.get("period") or state.period
    year = chosen.get("year")
    if period and year and not str(period).startswith(str(year)):
        period = f"{year}{period[4:]}"
    if period:
        changes["period"] = period
    if "basis" in chosen and chosen["basis"]:
        changes["basis"] = chosen["basis"]
    for key, value in chosen.items():
        if key in ("jurisdiction", "year", "period", "basis"):
            continue
        if key == "region" and "jurisdiction" in changes:
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        if key in ("indicator", "frequency") and not value:
            continue
        changes[key] = value or None
    return state.query(**changes)


# Dash's own texts in its controls, in Chinese (a Dropdown says "Select...", "2 selected",
# "Search", "No options found" by itself). Set on every page's layout by `chinese_controls`.
DROPDOWN_LABELS = {"select_all": "全选", "deselect_all": "全部取消", "selected_count": "已选 {num_selected} 项",
                   "search": "搜索", "clear_search": "清除搜索", "clear_selection": "清除已选",
                   "no_options_found": "没有匹配的选项"}
DROPDOWN_PLACEHOLDER = "请选择"
DATE_MONTH_FORMAT = "YYYY年M月"


def chinese_controls(component):
    """`component` with every Dash Dropdown and date picker in it given Chinese texts (those a
    page set itself are kept). Walks the whole tree; returns it."""
    from dash import dcc
    stack = [component]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
            continue
        if not hasattr(node, "_prop_names"):
            continue
        if isinstance(node, dcc.Dropdown):
            given = getattr(node, "labels", None) or {}
            node.labels = {**DROPDOWN_LABELS, **given}
            if getattr(node, "placeholder", None) is None:
                node.placeholder = DROPDOWN_PLACEHOLDER
        elif isinstance(node, (dcc.DatePickerRange, dcc.DatePickerSingle)):
            if getattr(node, "month_format", None) is None:
                node.month_format = DATE_MONTH_FORMAT
            if getattr(node, "first_day_of_week", None) is None:
                node.first_day_of_week = 1
        children = getattr(node, "children", None)
        if children is not None:
            stack.append(children)
    return component


def with_chinese_controls(layout):
    """A page layout function whose answer has its controls in Chinese (chinese_controls)."""
    import functools
    import inspect
    if inspect.iscoroutinefunction(layout):
        @functools.wraps(layout)
        async def wrapped_async(*args, **kwargs):
            return chinese_controls(await layout(*args, **kwargs))
        return wrapped_async

    @functools.wraps(layout)
    def wrapped(*args, **kwargs):
        return chinese_controls(layout(*args, **kwargs))
    return wrapped
