"""The metrics engine: the only place that computes indicators (see docs/ARCHITECTURE.md).

    from pipelines.metrics import Metrics
    m = Metrics(con, as_of=None)
    m.gaps("2024Q2", region="350900")

The engine (and pandas) load on first use: `pipelines.metrics.status` and `.reporting` are
light and are imported by the server at start-up.
"""
_ENGINE_NAMES = ("Metrics", "GAP_COLUMNS", "SERIES_COLUMNS", "DEFAULT_TIER")

__all__ = list(_ENGINE_NAMES)


def __getattr__(name):
    if name in _ENGINE_NAMES:
        from . import engine
        return getattr(engine, name)
    raise AttributeError(name)
