"""dashboards/monitor_dash.py: the index config, the layout and the callback list the server keeps
serialised are exactly what Dash itself makes, and each page load still gets its own token."""
from __future__ import annotations

import json
import re

from dash import Dash, Input, Output


def _config(html: str) -> dict:
    return json.loads(re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>',
                                html, re.S).group(1))


def test_kept_answers_equal_dash_own(warehouse_path):
    from app import create_app
    from dashboards.store import CONFIG_KEY
    app = create_app(warehouse_path)
    try:
        client = app.server.test_client()
        first, second = (client.get("/").get_data(as_text=True) for _ in range(2))
        layout = client.get("/_dash-layout")
        deps = client.get("/_dash-dependencies")
        assert layout.status_code == deps.status_code == 200
        with app.server.test_request_context("/"):
            own_config = _config(Dash._generate_config_html(app))
            own_layout = Dash.serve_layout(app).get_data(as_text=True)
            own_deps = Dash.dependencies(app).get_data(as_text=True)
        a, b = _config(first), _config(second)
        assert a["end_id"] != b["end_id"] != own_config["end_id"]      # a token per page load
        for c in (a, b, own_config):
            c.pop("end_id")
        assert "validation_layout" in own_config and len(json.dumps(own_config["validation_layout"])) > 20_000
        assert a == b == own_config
        assert json.loads(layout.get_data(as_text=True)) == json.loads(own_layout)
        assert json.loads(deps.get_data(as_text=True)) == json.loads(own_deps)
        assert layout.mimetype == deps.mimetype == "application/json"
        # A callback added after the list was first served is served too (not a stale copy).
        n = len(json.loads(deps.get_data(as_text=True)))
        assert set(app._kept) == {"validation_layout", "layout", "dependencies"}   # kept, not remade
        app.clientside_callback("function(x) { return x; }", Output("late-output", "children"),
                                Input("late-input", "value"))
        app._setup_server()
        assert len(json.loads(client.get("/_dash-dependencies").get_data(as_text=True))) == n + 1
    finally:
        app.server.config[CONFIG_KEY].close()
