"""Shared fixtures: real warehouses in temp dirs, and headless Chromium options for dash_duo."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "fixtures" / "samples"  # copy of ../shared/samples
ARTIFACTS = ROOT / "artifacts"


def pytest_setup_options():
    """Chromium flags for dash_duo on an offline machine, as root (see toolchain.md)."""
    from selenium.webdriver.chrome.options import Options
    options = Options()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1920,1080", "--lang=zh-CN"):
        options.add_argument(flag)
    return options


@pytest.fixture(scope="session")
def _initialised_template(tmp_path_factory) -> Path:
    """One initialised warehouse per test session; tests get their own copy."""
    from pipelines.warehouse import init_warehouse
    path = tmp_path_factory.mktemp("template") / "warehouse.duckdb"
    init_warehouse(path)
    return path


@pytest.fixture
def warehouse_path(_initialised_template, tmp_path) -> Path:
    """A fresh, initialised warehouse file (targets/ loaded) in this test's tmp dir."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(_initialised_template, path)
    return path


@pytest.fixture
def con(warehouse_path):
    from pipelines import db
    connection = db.connect(warehouse_path)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def ningde_bulletin(tmp_path_factory) -> dict:
    """The hand-made 宁德市 warehouse and its 2024Q3 bulletin written once by the real CLI
    (tests/bulletin_data.py). Read-only: copy the db before writing to it."""
    from bulletin_data import write_with_cli
    return write_with_cli(tmp_path_factory.mktemp("ningde_bulletin"))


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> Path:
    """The demo warehouse (`python -m pipelines demo`), built once per test session.

    Returns the db path; the demo's workbooks are under `<its dir>/raw/demo/` and the archive
    under `<its dir>/raw/`. Shared by every test that asks for it: do NOT write to it (open it
    with `db.connect(path, read_only=True)`). A test that needs to write copies the file first
    (`shutil.copy(demo_warehouse, tmp_path / "warehouse.duckdb")`).
    The build statistics are in `<its dir>/demo_stats.json`.
    """
    import json

    from pipelines.demo.build import build_demo
    path = tmp_path_factory.mktemp("demo") / "warehouse.duckdb"
    stats = build_demo(path)
    (path.parent / "demo_stats.json").write_text(json.dumps(stats, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free local port: (handler with .messages, port)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Collect(Message):
        def __init__(self):
            super().__init__()
            self.messages = []

        def handle_message(self, message):
            self.messages.append(message)
    from webserver import free_port
    handler, port = Collect(), free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield handler, port
    finally:
        ctl.stop()
