"""The provenance panel (issue 15): Esc closes it, a Σ 合计 row says what the values in force add
up to, and the archived original file is offered to those allowed — and downloads byte for
byte. A return ingested like an upload (archived under the warehouse's raw/), a real server."""
from __future__ import annotations

import shutil

import pytest
import requests

from browser_kit import chromium, login, settled, severe_logs, wait
from webserver import REGION_A, ServerProcess, add_accounts, fill_template

pytestmark = pytest.mark.browser
ACT = "evoucher_activation_rate"


@pytest.fixture(scope="module")
def server(tmp_path_factory, _initialised_template):
    from pipelines import db
    from pipelines.returns.ingest import ingest_files
    tmp = tmp_path_factory.mktemp("provenance")
    path = tmp / "warehouse.duckdb"
    shutil.copy(_initialised_template, path)
    add_accounts(path)
    con = db.connect(path)
    original = fill_template(con, REGION_A, "2024-03", tmp / "蕉城区_2024年3月.xlsx", numerator=873, denominator=1000)
    outcome = ingest_files(con, [original], user="reporter_a", channel="web", archive_dir=tmp / "raw")[0]
    assert outcome.status == "accepted", outcome.errors
    from pipelines.metrics import figure_table
    figure_table.refresh(con)
    con.close()
    with ServerProcess(path) as srv:
        srv.original = original
        srv.submission_id = outcome.submission_id
        yield srv


def _open_panel(d, base):
    from selenium.webdriver.common.by import By
    d.get(base + f"/district?jurisdiction=350900&region={REGION_A}&period=2024-03")
    wait(d, "#district-gaps, .page-district table")
    settled(d)
    button = d.find_element(By.XPATH, f"//button[contains(@class,'prov-btn') and contains(@id,'{ACT}')]")
    button.click()
    return wait(d, "#prov-modal .prov-table", timeout=30)


@pytest.mark.parametrize("role,offered", [("reporter_a", True), ("admin", True), ("reporter_b", False),
                                          ("viewer", False)])
def test_panel_sum_row_esc_and_the_archived_file(server, role, offered):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    d = chromium()
    try:
        login(d, server.url, role)
        table = _open_panel(d, server.url)
        total = table.find_element(By.CSS_SELECTOR, "tfoot .prov-total")
        cells = [c.text for c in total.find_elements(By.CSS_SELECTOR, "th, td")]
        # One current value, 873 / 1000: the Σ row says it and the figure it makes.
        assert cells[0] == "Σ 合计" and cells[2:4] == ["873", "1,000"], cells
        assert "实际值 87.30%" in cells[4], cells
        assert d.switch_to.active_element.get_attribute("id") == "prov-close"   # focus in the panel
        links = table.find_elements(By.CSS_SELECTOR, "a.archive-link")
        if offered:
            assert [a.text for a in links] == [server.original.name]
            href = links[0].get_attribute("href")
            assert href.endswith(f"/download/archive/{server.submission_id}")
            cookies = {c["name"]: c["value"] for c in d.get_cookies()}
            r = requests.get(href, cookies=cookies, timeout=30)
            assert r.status_code == 200 and r.content == server.original.read_bytes()
            assert "attachment" in r.headers["Content-Disposition"]
        else:
            assert links == [] and server.original.name in table.text       # named, not offered
        # Esc closes the panel.
        d.switch_to.active_element.send_keys(Keys.ESCAPE)
        wait(d, "#prov-modal.hidden", visible=False, timeout=10)
        assert not d.find_element(By.ID, "prov-modal").is_displayed()
        assert severe_logs(d) == []
    finally:
        d.quit()


def test_archive_route_refuses_in_chinese(server):
    from webserver import Client, assert_json_error
    viewer, other, admin = Client(server.url), Client(server.url), Client(server.url)
    viewer.login("viewer")
    other.login("reporter_b")
    admin.login("admin")
    sid = server.submission_id
    assert_json_error(viewer.get(f"/download/archive/{sid}", headers={"Accept": "application/json"}), 403, "权限")
    assert_json_error(other.get(f"/download/archive/{sid}"), 403, "报送范围")
    assert_json_error(admin.get("/download/archive/999999"), 404, "999999")
    assert admin.get(f"/download/archive/{sid}").content == server.original.read_bytes()
