"""The app shell: navigation above every page, and the page container.

The navigation follows the URL (Dash's own `_pages_location`): its links keep the current
jurisdiction, period, basis and snapshot, and meeting mode hides it (no chrome on the projector).
"""
from __future__ import annotations

import dash
from dash import Input, Output, dcc, html

from . import ids, provenance
from .components import nav_links
from .pagekit import PAGES_LOCATION, state_from_search
from .state import PAGE_PATHS, ViewState


def layout() -> html.Div:
    return html.Div(className="shell", children=[
        dcc.Store(id=ids.SHELL_RENDER, data="page"),
        html.Nav(id=ids.NAV, className="nav", children=nav_links("overview", ViewState())),
        dash.page_container,
        *provenance.shell(),
    ])


def register(app) -> None:
    @app.callback(Output(ids.NAV, "children"), Output(ids.NAV, "className"),
                  Input(PAGES_LOCATION, "pathname"), Input(PAGES_LOCATION, "search"))
    def _nav(pathname, search):
        state = state_from_search(search)
        page = next((p for p, path in PAGE_PATHS.items() if path == (pathname or "/")), None)
        return nav_links(page, state), "nav hidden" if state.meeting else "nav"

    provenance.register(app)
