"""The app shell: navigation above every page, and the page container.

The navigation follows the URL (Dash's own `_pages_location`): its links keep the current
jurisdiction, period, basis and snapshot, and meeting mode hides it (no chrome on the projector).
"""
from __future__ import annotations

import dash
from dash import Input, Output, dcc, html

from . import ids, provenance
from .components import nav_links
from .security import request_may_open
from .pagekit import PAGES_LOCATION, state_from_search, with_chinese_controls
from .state import PAGE_PATHS, ViewState


def layout() -> html.Div:
    return html.Div(className="shell", children=[
        dcc.Store(id=ids.SHELL_RENDER, data="page"),
        html.Div(CONNECTION_LOST, id=ids.SHELL_CONNECTION, role="alert", hidden=True),
        dcc.Interval(id=ids.SHELL_ALIVE_TICK, interval=ALIVE_EVERY_MS),
        html.Nav(id=ids.NAV, className="nav", children=nav_links("overview", ViewState())),
        dash.page_container,
        *provenance.shell(),
    ])


CONNECTION_LOST = ("与服务器的连接已中断：页面上的内容可能不是最新的，断开期间所做的选择没有生效。"
                   "正在自动重连，连接恢复后此提示会自动消失，届时请重新操作。")
ALIVE_EVERY_MS = 3000
# In the browser: ask the server whether it is there; the banner is hidden only when it answers.
ALIVE_CHECK = """
async function(_n) {
    try {
        const r = await fetch('%s', {cache: 'no-store', credentials: 'same-origin'});
        return r.ok;
    } catch (e) {
        return false;
    }
}
""" % ids.ALIVE_PATH


def register(app) -> None:
    # Every page's controls speak Chinese, however the page built them (one place).
    for page in dash.page_registry.values():
        if callable(page.get("layout")) and not getattr(page["layout"], "__wrapped__", None):
            page["layout"] = with_chinese_controls(page["layout"])
    # Lost server: a callback cannot tell the page the server is gone, so the browser checks.
    app.clientside_callback(ALIVE_CHECK, Output(ids.SHELL_CONNECTION, "hidden"),
                            Input(ids.SHELL_ALIVE_TICK, "n_intervals"))

    @app.callback(Output(ids.NAV, "children"), Output(ids.NAV, "className"),
                  Input(PAGES_LOCATION, "pathname"), Input(PAGES_LOCATION, "search"))
    def _nav(pathname, search):
        state = state_from_search(search)
        page = next((p for p, path in PAGE_PATHS.items() if path == (pathname or "/")), None)
        return nav_links(page, state, request_may_open), "nav hidden" if state.meeting else "nav"

    provenance.register(app)
