"""The dashboard on the demo warehouse (every seed jurisdiction, 2022–2025) in a real Chromium:
every heatmap cell equals what `python -m pipelines gaps` prints, and every page loads cleanly."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from dashboard_data import create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_db(request, tmp_path_factory):
    """A private copy of the demo warehouse (the server under test locks its file)."""
    try:
        source = request.getfixturevalue("demo_warehouse")
    except pytest.FixtureLookupError:
        from pipelines.demo.build import build_demo
        source = tmp_path_factory.mktemp("demo_build") / "warehouse.duckdb"
        build_demo(source)
    path = tmp_path_factory.mktemp("dash_demo") / "warehouse.duckdb"
    shutil.copy(source, path)
    return path


@pytest.fixture(scope="module")
def views(demo_db) -> list[dict]:
    """Each jurisdiction's latest quarter and the CLI's gaps for it (before any server runs)."""
    from pipelines import db
    from pipelines.metrics import Metrics
    con = db.connect(demo_db, read_only=True)
    try:
        m = Metrics(con)
        pairs = [(c, n, m.periods(c, "Q")[-1]) for c, n in zip(m.jurisdictions()["code"], m.jurisdictions()["name"])]
    finally:
        con.close()
    out = []
    for code, name, period in pairs:
        cli = subprocess.run([sys.executable, "-m", "pipelines", "gaps", "--db", str(demo_db), "--period",
                              period, "--region", code, "--format", "json"],
                             capture_output=True, text=True, check=True)
        out.append({"code": code, "name": name, "period": period, "rows": json.loads(cli.stdout)})
    return out


@pytest.fixture
def served(dash_duo, demo_db):
    app = create_app(demo_db)
    dash_duo.start_server(app)
    dash_duo.driver.set_window_size(1920, 1080)
    yield dash_duo, dash_duo.server_url
    app.server.config["WAREHOUSE"].close()


def heatmap_cells(duo) -> dict:
    return duo.driver.execute_script("""
        const out = {};
        document.querySelectorAll('#overview-heatmap td[data-region]').forEach(td => {
            out[td.dataset.region + '|' + td.dataset.indicator] =
                [td.querySelector('.hm-value').textContent, td.dataset.status];
        });
        return out;""")


def test_demo_heatmaps_equal_the_cli_for_every_jurisdiction(served, views, artifacts_dir):
    duo, base = served
    assert len(views) == 5
    for view in views:
        duo.driver.get(f"{base}/?jurisdiction={view['code']}&period={view['period']}")
        duo.wait_for_text_to_equal(".page-title", f"{view['name']} {_label(view['period'])} 指标完成情况（当期）",
                                   timeout=30)
        cells = heatmap_cells(duo)
        assert len(cells) == len(view["rows"]), view["code"]
        compared = 0
        for row in view["rows"]:
            shown, status = cells[f"{row['region_code']}|{row['indicator_code']}"]
            assert status == row["status"], (view["code"], row)
            if row["actual"] is None:
                from dashboards.theme import STATUS_SYMBOL
                assert shown == STATUS_SYMBOL[row["status"]], (view["code"], row)
            else:
                assert float(shown.replace(",", "")) == pytest.approx(row["actual"], abs=0.05 + 1e-9), row
                compared += 1
        assert compared > 0
        duo.driver.save_screenshot(str(artifacts_dir / f"demo_overview_{view['code']}.png"))
        assert duo.get_logs() == [], view["code"]


def test_demo_pages_load_without_console_errors(served, views, artifacts_dir):
    duo, base = served
    view = views[0]
    q = f"?jurisdiction={view['code']}&period={view['period']}"
    district = next(r["region_code"] for r in view["rows"] if r["region_code"] != view["code"])
    for name, path, ready in [
        ("indicator", f"/indicator{q}", "#indicator-ranking .main-svg"),
        ("district", f"/district{q}&region={district}", "#district-trends .main-svg"),
        ("submissions", f"/submissions{q}&frequency=季度", "#submissions-matrix"),
        ("targets", f"/targets{q}", "#targets-table"),
        ("meeting_indicator", f"/indicator{q}&mode=meeting&advance=5", "#indicator-ranking .main-svg"),
    ]:
        duo.driver.get(base + path)
        duo.wait_for_element(ready, timeout=30)
        duo.driver.save_screenshot(str(artifacts_dir / f"demo_{name}.png"))
        assert duo.get_logs() == [], name
    # Meeting mode advances to the next indicator on its own (advance=5 seconds).
    first = duo.driver.current_url
    duo.wait_for_element("#indicator-pick", timeout=10)
    import time
    deadline = time.time() + 30
    while time.time() < deadline and duo.driver.current_url == first:
        time.sleep(0.5)
    assert duo.driver.current_url != first and "indicator=" in duo.driver.current_url
    assert duo.get_logs() == []


def _label(period: str) -> str:
    from dashboards.state import period_label
    return period_label(period)
