"""The Dash UI of 医保便民服务指标监测: pages, figures, components. `app.py` composes and serves it.

Pages and figures never write SQL and never compute indicators: they ask `pipelines.metrics`
(through `dashboards.store.open_metrics`) and format what it returns.
"""
