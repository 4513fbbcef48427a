"""The page Dash's router shows for an address no page has (Dash picks a module of this name)."""
from __future__ import annotations

import dash
from dash import dcc, html

from dashboards.state import PAGE_PATHS, PAGE_TITLES

dash.register_page(__name__, path="/404", name="页面不存在", title="页面不存在 · 医保便民服务指标监测",
                   order=99)


def layout(rendering=None, **_params):
    links = [dcc.Link(PAGE_TITLES[p], href=PAGE_PATHS[p], className="nav-link")
             for p in ("overview", "indicator", "district", "submissions", "targets")]
    return html.Div(className="page page-not-found", children=[html.Main(className="page-body not-found", children=[
        html.H1("页面不存在", className="page-title", id="not-found-title"),
        html.P("您打开的网址不是本系统的页面：可能是网址输入有误，或链接已过期。"
               "请检查地址栏中的网址，或从下面的链接进入。", className="empty-title"),
        html.Div(links, className="nav-links not-found-links"),
    ])])
