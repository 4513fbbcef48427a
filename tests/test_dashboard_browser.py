"""The dashboard in a real Chromium (dash_duo, --headless) on a real warehouse.

Data: tests/dashboard_data.py (宁德市 2024-01..06, numbers chosen to be computed by hand).
"""
from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard_data import (ACTIVATION, DISTRICTS, NINGDE, REVISED_NUMERATOR, SETTLEMENT,
                            activation, create_app, file_name, load_ningde, settlement)

pytestmark = pytest.mark.browser
ROOT_Q = f"?jurisdiction={NINGDE}&period=2024Q2"


@pytest.fixture(scope="module")
def city_db(tmp_path_factory):
    from pipelines import db
    from pipelines.warehouse import init_warehouse
    path = tmp_path_factory.mktemp("dash_browser") / "warehouse.duckdb"
    init_warehouse(path)
    con = db.connect(path)
    load_ningde(con)
    con.close()
    return path


@pytest.fixture(scope="module")
def cli(city_db) -> dict:
    """What `python -m pipelines gaps` prints for 2024Q2 (run before any server holds the file)."""
    return {basis: cli_gaps(city_db, "2024Q2", basis) for basis in ("period", "ytd")}


@pytest.fixture
def dash(dash_duo, city_db):
    """dash_duo serving create_app(city_db); returns (dash_duo, base URL)."""
    app = create_app(city_db)
    dash_duo.start_server(app)
    yield dash_duo, dash_duo.server_url
    app.server.config["WAREHOUSE"].close()


def open_page(duo, base: str, path: str, wait_for: str):
    duo.driver.get(base + path)
    duo.wait_for_element(wait_for, timeout=20)
    wait_idle(duo)


def wait_idle(duo, timeout: float = 20):
    """Until Dash has no callback in flight."""
    WebDriverWait(duo.driver, timeout).until(lambda d: d.execute_script(
        "const r = window.store && window.store.getState();"
        "return !!r && r.isLoading === false || !document.querySelector('[data-dash-is-loading]');"))


def cell(duo, region: str, indicator: str):
    return duo.find_element(f'#overview-heatmap td[data-region="{region}"][data-indicator="{indicator}"]')


def cell_value(duo, region: str, indicator: str) -> str | None:
    """The value shown in a heatmap cell, read in one step (the table may be re-rendering)."""
    return duo.driver.execute_script(
        "const c = document.querySelector(arguments[0]);"
        "return c ? c.querySelector('.hm-value').textContent : null;",
        f'#overview-heatmap td[data-region="{region}"][data-indicator="{indicator}"]')


def wait_cell(duo, region, indicator, expected: str):
    WebDriverWait(duo.driver, 20).until(lambda d: cell_value(duo, region, indicator) == expected,
                                        f"heatmap {region}×{indicator} ≠ {expected}")


def city_activation_june() -> float:
    nums = [REVISED_NUMERATOR] + [activation(i, 6)[0] for i in range(1, len(DISTRICTS))]
    dens = [activation(i, 6)[1] for i in range(len(DISTRICTS))]
    return 100 * sum(nums) / sum(dens)


def cli_gaps(db, period: str, basis: str = "period") -> dict:
    out = subprocess.run([sys.executable, "-m", "pipelines", "gaps", "--db", str(db), "--period", period,
                          "--region", NINGDE, "--basis", basis, "--format", "json"],
                         capture_output=True, text=True, check=True)
    return {(r["region_code"], r["indicator_code"]): r for r in json.loads(out.stdout)}


def test_heatmap_matches_cli_and_follows_period_and_basis(cli, dash):
    duo, base = dash
    open_page(duo, base, "/" + ROOT_Q, "#overview-heatmap")
    # By hand: 蕉城区 June activation after the correction = 72000 / 100000; the city = Σnum / Σden
    # of the 9 units that reported — shown, but 数据不全: 柘荣县 sent nothing.
    assert cell_value(duo, "350902", ACTIVATION) == "72.00"
    assert cell_value(duo, NINGDE, ACTIVATION) == f"{city_activation_june():.2f}" == "77.14"
    city = cell(duo, NINGDE, ACTIVATION)
    assert "数据不全" in city.text and "9/10报齐" in city.text
    assert "报送：9/10 个地区数据齐全" in city.get_attribute("title")
    assert "未报送" in cell(duo, "350926", ACTIVATION).text          # 柘荣县 sent nothing
    assert cell(duo, "350926", ACTIVATION).find_element(By.CSS_SELECTOR, ".hm-value").text == "—"
    for (region, indicator), row in cli["period"].items():
        if row["actual"] is None or region in ("350926",):
            continue
        if indicator not in (ACTIVATION, SETTLEMENT):
            continue
        assert cell_value(duo, region, indicator) == f"{row['actual']:.2f}", (region, indicator)
        assert row["status"] in cell(duo, region, indicator).text
    tip = cell(duo, "350902", SETTLEMENT).get_attribute("title")
    assert "目标：≥30%" in tip and "排名：第 9 / 9 名" in tip and "连续未达标" not in tip
    assert "按1—6月累计判定" in tip

    # 宁德's target on 结算率 is on the year ("年度结算率不低于30%"): the 当期 view already judges
    # January–June, and says so in the cell. 蕉城区 (i=0): Σ(0.25+0.01m)/6 = 28.5 %.
    ytd_value = 100 * sum(settlement(0, m)[0] for m in range(1, 7)) / (6 * settlement(0, 1)[1])
    assert f"{ytd_value:.2f}" == "28.50"
    assert cell_value(duo, "350902", SETTLEMENT) == "28.50" and "累计" in cell(duo, "350902", SETTLEMENT).text
    assert cli["period"][("350902", SETTLEMENT)]["judged_on"] == "ytd"
    duo.find_element("#overview-basis label:nth-of-type(2)").click()           # 当期 → 累计
    WebDriverWait(duo.driver, 20).until(
        lambda d: parse_qs(urlparse(d.current_url).query).get("basis") == ["ytd"])
    duo.wait_for_contains_text(".page-title", "（累计）", timeout=20)
    wait_cell(duo, "350902", SETTLEMENT, "28.50")
    assert "累计" not in cell(duo, "350902", SETTLEMENT).find_element(By.CSS_SELECTOR, ".hm-gap").text
    assert cli["ytd"][("350902", SETTLEMENT)]["actual"] == pytest.approx(ytd_value, abs=1e-3)

    # Period 2024Q2 → 2024Q1: activation is a stock, so Q1 is March: 100000 × 0.615.
    choose(duo, "overview-period", "2024年第一季度")
    wait_cell(duo, "350902", ACTIVATION, "61.50")
    assert parse_qs(urlparse(duo.driver.current_url).query)["period"] == ["2024Q1"]
    # 返回 goes back to the previous view (2024Q2, 累计).
    duo.driver.back()
    wait_cell(duo, "350902", ACTIVATION, "72.00")
    assert duo.get_logs() == []


def choose(duo, dropdown_id: str, label: str):
    """Pick an option of a dcc.Dropdown by its visible label."""
    duo.find_element(f"#{dropdown_id}").click()
    WebDriverWait(duo.driver, 10).until(lambda d: [
        e for e in d.find_elements(By.XPATH, f"//*[@role='option' and normalize-space()='{label}']")
        if e.is_displayed()])
    option = [e for e in duo.driver.find_elements(By.XPATH, f"//*[@role='option' and normalize-space()='{label}']")
              if e.is_displayed()][0]
    option.click()


def test_cell_click_opens_district_with_provenance_and_back(dash):
    duo, base = dash
    open_page(duo, base, "/" + ROOT_Q, "#overview-heatmap")
    cell(duo, "350902", ACTIVATION).find_element(By.CSS_SELECTOR, "a").click()
    duo.wait_for_element("#district-provenance", timeout=20)
    url = urlparse(duo.driver.current_url)
    query = parse_qs(url.query)
    assert url.path == "/district"
    assert query["region"] == ["350902"] and query["period"] == ["2024Q2"]
    assert query["indicator"] == [ACTIVATION]
    panel = duo.find_element("#district-provenance").text
    # The value in force comes from the correction; the June value it replaced stays listed.
    assert "蕉城区_2024年6月_更正.xlsx" in panel and "C7 / D7" in panel and "更正" in panel
    assert file_name(6) in panel and "D3 / E3" in panel and "已被更正" in panel
    assert "72.00%" in panel
    duo.driver.back()
    duo.wait_for_element("#overview-heatmap", timeout=20)
    assert urlparse(duo.driver.current_url).path == "/"
    assert cell_value(duo, "350902", ACTIVATION) == "72.00"
    assert duo.get_logs() == []


def test_card_and_table_row_open_the_provenance_panel(dash, artifacts_dir):
    duo, base = dash
    duo.driver.set_window_size(1920, 1080)
    open_page(duo, base, "/" + ROOT_Q, "#overview-cards")
    duo.find_element("#overview-cards .kpi-value").click()      # the city's activation rate
    duo.wait_for_element("#prov-modal:not(.hidden)", timeout=20)
    body = duo.find_element("#prov-body").text
    assert "宁德市" in body and "77.14%" in body and "9/10 个地区数据齐全" in body and "数据不全" in body
    assert file_name(6) in body and "汇总" in body
    duo.driver.save_screenshot(str(artifacts_dir / "dashboard_provenance.png"))
    duo.find_element("#prov-close").click()
    duo.wait_for_element("#prov-modal.hidden", timeout=10)

    open_page(duo, base, f"/indicator{ROOT_Q}&indicator={SETTLEMENT}", "#indicator-table")
    duo.find_element('#indicator-table td[data-dash-column="region_name"]').click()  # first row
    duo.wait_for_element("#prov-modal:not(.hidden)", timeout=20)
    assert "医保电子凭证结算率" in duo.find_element("#prov-body").text
    assert duo.get_logs() == []


PAGES = [
    ("overview", "/" + ROOT_Q, "#overview-heatmap"),
    ("indicator", f"/indicator{ROOT_Q}&indicator={ACTIVATION}&region=350902,350981", "#indicator-ranking .main-svg"),
    ("district", f"/district{ROOT_Q}&region=350981", "#district-trends .main-svg"),
    ("submissions", f"/submissions{ROOT_Q}", "#submissions-matrix"),
    ("targets", f"/targets?jurisdiction={NINGDE}", "#targets-table"),
    ("meeting", "/" + ROOT_Q + "&mode=meeting&as_of=2024-07-10T00:00:00", "#overview-heatmap"),
]


def test_every_page_loads_offline_without_errors(dash, artifacts_dir):
    duo, base = dash
    duo.driver.set_window_size(1920, 1080)
    for name, path, ready in PAGES:
        open_page(duo, base, path, ready)
        duo.driver.execute_script("window.scrollTo(0, 0)")
        duo.driver.save_screenshot(str(artifacts_dir / f"dashboard_{name}.png"))
        height = duo.driver.execute_script("return document.documentElement.scrollHeight")
        duo.driver.set_window_size(1920, min(4000, height + 150))
        duo.driver.save_screenshot(str(artifacts_dir / f"dashboard_{name}_full.png"))
        duo.driver.set_window_size(1920, 1080)
        assert duo.get_logs() == [], name
        # Offline: every resource the page loaded came from this server.
        resources = duo.driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        assert resources and all(r.startswith(base) for r in resources), (name, resources)
        for attr, tag in (("src", "script"), ("href", "link")):
            for el in duo.driver.find_elements(By.TAG_NAME, tag):
                value = el.get_attribute(attr) or ""
                assert not value or value.startswith(base), (name, value)
        assert duo.driver.execute_script("return document.documentElement.lang") == "zh-CN"
    # Meeting mode: no navigation chrome, dark theme, the snapshot is named.
    assert not duo.driver.find_element(By.ID, "nav").is_displayed()
    assert "会议快照：数据截至 2024-07-10 00:00" in duo.find_element(".banner").text
    # Frozen before 蕉城区's correction of 2024-07-20: June as first reported, 100000 × 0.63.
    assert cell_value(duo, "350902", ACTIVATION) == f"{100 * activation(0, 6)[0] / activation(0, 6)[1]:.2f}" == "63.00"
    assert "mode-meeting" in duo.find_element(".page").get_attribute("class")
