"""The key someone meant: a misspelt field or column named with the closest allowed one."""
from __future__ import annotations

import difflib


def closest(key, allowed) -> str | None:
    """The allowed key closest to `key` (difflib ratio ≥ 0.5), or None."""
    options = sorted(str(a) for a in allowed)
    hits = difflib.get_close_matches(str(key), options, n=1, cutoff=0.5)
    if not hits:            # case and separators: `Basis`, `numerator-label`
        norm = {o.lower().replace("-", "_").replace(" ", "_"): o for o in options}
        hit = norm.get(str(key).lower().replace("-", "_").replace(" ", "_"))
        return hit
    return hits[0]


def did_you_mean(key, allowed) -> str:
    """'：是否应为“basis”？' — or '' when nothing is close."""
    hit = closest(key, allowed)
    return f"：是否应为“{hit}”？" if hit else ""
