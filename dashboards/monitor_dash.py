"""The Dash class the server runs: Dash, with what is the same for every request serialised once.

Every page load asks for the index (`/`), the app layout (`/_dash-layout`) and the callback list
(`/_dash-dependencies`). Dash builds each anew per request, although nothing in them changes
while the server runs but the index's signed page-load token (`end_id`): the validation layout
inside the index's config alone is 57 kB of JSON, 2.8 ms of the interpreter per page load, and
at a meeting's page loads the three took ~12 ms of it together — the interpreter every upload
shares. Here they are serialised once and kept on the app instance (not in module state); the
config is still made per request around the kept validation layout, so every page load has its
own token. Each kept text is keyed on what it was made from, so a layout or callback added later
is served, not a stale copy; tests/test_monitor_dash.py holds every answer equal to Dash's own.
"""
from __future__ import annotations

from dash import Dash
from dash._get_app import with_app_context
from dash._utils import to_json


class MonitorDash(Dash):
    """Dash whose per-request JSON that never changes is serialised once per app."""

    def __init__(self, *args, **kwargs):
        self._kept: dict[str, tuple] = {}        # what → (made-from key, serialised text)
        super().__init__(*args, **kwargs)

    def _keep(self, what: str, key, make) -> str:
        kept = self._kept.get(what)
        if kept is None or kept[0] != key:
            kept = (key, make())
            self._kept[what] = kept              # one assignment: threads see old or new whole
        return kept[1]

    def _generate_config_html(self) -> str:
        config = self._config()
        validation = config.pop("validation_layout", None)
        text = to_json(config)
        if validation is not None:
            key = (id(self.validation_layout), tuple(map(id, self._extra_components)))
            kept = self._keep("validation_layout", key, lambda: to_json(validation))
            text = f'{text[:-1]}, "validation_layout": {kept}}}'
        return f'<script id="_dash-config" type="application/json">{text}</script>'

    def serve_layout(self):
        if self._layout_is_function or self._hooks.get_hooks("layout"):
            return super().serve_layout()       # made per request by design: not kept
        key = (id(self._layout), tuple(map(id, self._extra_components)))
        text = self._keep("layout", key, lambda: to_json(self.get_layout()))
        return self.backend.make_response(text, mimetype="application/json")

    @with_app_context
    def dependencies(self):
        callbacks = self._callback_list
        key = (id(callbacks), len(callbacks))
        text = self._keep("dependencies", key, lambda: to_json(callbacks))
        return self.backend.make_response(text, content_type="application/json")
