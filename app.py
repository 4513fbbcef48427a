"""医保便民服务指标监测 — the dashboard server.

    python app.py [--db data/warehouse.duckdb] [--host 127.0.0.1] [--port 8050]

`create_app(db_path)` opens the warehouse (one read-write DuckDB connection kept on the Flask
server; each request works on its own cursor) and composes the Dash pages of `dashboards/`.
Everything the browser loads is served by the app itself (offline intranet).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_DB = "data/warehouse.duckdb"
REQUEST_THREADS = 8

INDEX_STRING = """<!DOCTYPE html>
<html lang="zh-CN">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def create_app(db_path: str | os.PathLike = DEFAULT_DB, parse_limits=None):
    """The Dash app serving the warehouse at `db_path` (which must have been initialised).

    Uploads are parsed by the warehouse's pool of bounded worker processes (`parse_limits`, a
    pipelines.returns.parse_worker.ParseLimits; default: ParseLimits.from_env()); close the pool with
    `app.server.config[CONFIG_KEY].close()`.
    """
    from dash import State

    from dashboards import ids, shell
    from dashboards.monitor_dash import MonitorDash
    from dashboards.store import CONFIG_KEY, Warehouse
    from pipelines.returns.parse_worker import ParseLimits

    from dashboards.security import proxy_hops
    proxy_hops()                    # a bad YBJC_PROXY_HOPS stops the start before anything opens
    path = Path(db_path)
    if not path.exists():
        raise FileNotFoundError(f"数据仓库 {path} 不存在：请先运行 python -m pipelines init --db {path}")
    warehouse = Warehouse(path, parse_limits or ParseLimits.from_env())
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    # Page modules register their callbacks globally each time a Dash app imports them; drop
    # those of any app built earlier in this process but never served (tests build several).
    from dash import _callback
    _callback.GLOBAL_CALLBACK_LIST.clear()
    _callback.GLOBAL_CALLBACK_MAP.clear()
    app = MonitorDash(
        "dashboards", use_pages=True, pages_folder="pages", serve_locally=True,
        title="医保便民服务指标监测", update_title=None,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        routing_callback_inputs={"rendering": State(ids.SHELL_RENDER, "data")},
        include_pages_meta=False,
    )
    # Production settings: no dev-tools UI and no version check (nothing leaves the intranet).
    app.enable_dev_tools(debug=False, dev_tools_ui=False, dev_tools_props_check=False,
                         dev_tools_hot_reload=False, dev_tools_disable_version_check=True)
    app.index_string = INDEX_STRING
    app.server.config[CONFIG_KEY] = warehouse
    app.layout = shell.layout()
    shell.register(app)
    from dashboards.security import install_security  # login, CSRF, roles, upload API
    install_security(app, warehouse)
    return app


def _warm_up(warehouse) -> None:
    """Start the parse workers and one check worker, and import what the first page callback
    needs while the server already answers (cold start). great-expectations is imported by the
    check worker, in its own process (pipelines/returns/check_pool.py): imported in the server
    its ~5 s held the interpreter, and the first views of the indicator and district pages were
    1.7–2.7× slower in `make bench` (p95 170 / 271 ms against 150)."""
    warehouse.parser.warm_up()
    warehouse.checker.warm_up(1)
    import pandas  # noqa: F401
    import pipelines.metrics  # noqa: F401
    import openpyxl  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="医保便民服务指标监测 看板服务")
    parser.add_argument("--db", default=DEFAULT_DB, help="数据仓库文件（默认 data/warehouse.duckdb）")
    parser.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1）")
    parser.add_argument("--port", type=int, default=8050, help="端口（默认 8050）")
    # 8: measured in the concurrent soak (bench/README.md) — 48 threads made uploads 3x slower
    # (every thread runs Python beside the others, one interpreter lock), 16 and 12 a little
    parser.add_argument("--threads", type=int, default=REQUEST_THREADS,
                        help=f"处理请求的线程数（默认 {REQUEST_THREADS}）")
    args = parser.parse_args(argv)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    from dashboards.security import SettingError
    from pipelines.db import WarehouseBusy
    try:
        app = create_app(args.db)
    except (FileNotFoundError, WarehouseBusy, SettingError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    from dashboards.store import CONFIG_KEY
    warehouse = app.server.config[CONFIG_KEY]
    threading.Thread(target=_warm_up, args=(warehouse,), name="warm-up", daemon=True).start()
    from pipelines.workflow.reminders import ReminderTimer
    reminders = ReminderTimer(app.server.extensions["ybjc_store"],
                              float(os.environ.get("YBJC_REMINDER_INTERVAL_S") or 3600),
                              float(os.environ.get("YBJC_REMINDER_FIRST_S") or 30)).start()
    from waitress import serve
    print(f"看板服务已启动：http://{args.host}:{args.port}/（数据仓库 {args.db}；按 Ctrl+C 停止）",
          flush=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        # waitress drops X-Forwarded-* headers by default; behind configured proxies they must
        # reach werkzeug's ProxyFix (dashboards.security.install_security), which trusts
        # exactly YBJC_PROXY_HOPS of them
        from dashboards.security import proxy_hops
        serve(app.server, host=args.host, port=args.port, threads=args.threads, ident="ybjc",
              clear_untrusted_proxy_headers=not proxy_hops())
    except KeyboardInterrupt:
        pass
    finally:
        reminders.stop()
        warehouse.parser.close()          # the parse and check workers go with the server
        warehouse.checker.close()
    return 0


def _stop(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
