"""The metrics engine: the only place that computes indicators (see docs/ARCHITECTURE.md).

    from pipelines.metrics import Metrics
    m = Metrics(con, as_of=None)
    m.gaps("2024Q2", region="350900")
"""
from .engine import DEFAULT_TIER, GAP_COLUMNS, SERIES_COLUMNS, Metrics

__all__ = ["Metrics", "GAP_COLUMNS", "SERIES_COLUMNS", "DEFAULT_TIER"]
