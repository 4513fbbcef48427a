"""`python app.py --db <tmp> --port <free>` as a real process (waitress), spoken to over HTTP."""
from __future__ import annotations

import base64
import io
import json
import re

import openpyxl
import pytest

from bench.dashboard_bench import DashClient, router_payload
from bench.run import serve_app
from dashboard_data import ACTIVATION, NINGDE, load_ningde


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from pipelines import db
    from pipelines.warehouse import init_warehouse
    path = tmp_path_factory.mktemp("app_server") / "warehouse.duckdb"
    init_warehouse(path)
    con = db.connect(path)
    load_ningde(con)
    con.close()
    with serve_app(path) as (proc, base, ready):
        yield proc, base, ready
    assert proc.poll() is not None            # terminated by serve_app


def find_component(node, component_id):
    """The component with `component_id` in a serialised Dash layout."""
    if isinstance(node, dict):
        if node.get("props", {}).get("id") == component_id:
            return node
        for value in node.values():
            found = find_component(value, component_id)
            if found is not None:
                return found
    elif isinstance(node, list):
        for value in node:
            found = find_component(value, component_id)
            if found is not None:
                return found
    return None


def test_index_is_chinese_and_every_asset_is_local(server):
    _, base, ready = server
    client = DashClient(base)
    status, body = client.get("/")
    page = body.decode()
    assert status == 200
    assert '<html lang="zh-CN">' in page and "医保便民服务指标监测" in page
    assets = re.findall(r'<(?:script|link)[^>]*?(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)
    status, layout = client.get("/_dash-layout")
    assert status == 200 and "总览" in json.dumps(json.loads(layout), ensure_ascii=False)


def test_overview_callback_over_http(server):
    _, base, _ = server
    client = DashClient(base)
    status, body, seconds = client.post_callback(
        router_payload("/", f"?jurisdiction={NINGDE}&period=2024Q2"))
    assert status == 200
    data = json.loads(body)
    text = json.dumps(data, ensure_ascii=False)
    heatmap = find_component(data, "overview-heatmap")
    assert heatmap is not None
    cells = json.dumps(heatmap, ensure_ascii=False)
    assert "蕉城区" in cells and "柘荣县" in cells and "未报送" in cells
    # 蕉城区 June activation after the correction: 72000 / 100000.
    td = [c for c in _cells(heatmap) if c["props"].get("data-region") == "350902"
          and c["props"].get("data-indicator") == ACTIVATION][0]
    assert '"72.00"' in json.dumps(td, ensure_ascii=False)
    assert "宁德市 2024年第二季度 指标完成情况（当期）" in text


def _cells(node):
    if isinstance(node, dict):
        if node.get("type") == "Td" and "data-region" in node.get("props", {}):
            yield node
        for value in node.values():
            yield from _cells(value)
    elif isinstance(node, list):
        for value in node:
            yield from _cells(value)


def test_indicator_export_is_a_safe_xlsx(server):
    _, base, _ = server
    client = DashClient(base)
    search = f"?jurisdiction={NINGDE}&period=2024Q2&indicator={ACTIVATION}"
    _, body, _ = client.post_callback(router_payload("/indicator", search))
    rows = find_component(json.loads(body), "indicator-table")["props"]["data"]
    assert [r["region_name"] for r in rows][:2] == ["宁德市", "蕉城区"]
    rows[1] = {**rows[1], "region_name": "=HYPERLINK(\"http://x\")", "reporting": "@SUM(A1)"}
    payload = {
        "output": "indicator-download.data",
        "outputs": {"id": "indicator-download", "property": "data"},
        "inputs": [{"id": "indicator-export", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["indicator-export.n_clicks"],
        "state": [{"id": "indicator-table", "property": "derived_virtual_data", "value": rows},
                  {"id": "_pages_location", "property": "search", "value": search}],
    }
    status, body, _ = client.post_callback(payload)
    assert status == 200
    download = json.loads(body)["response"]["indicator-download"]["data"]
    assert download["filename"] == "医保电子凭证激活率_2024Q2.xlsx" and download["base64"]
    ws = openpyxl.load_workbook(io.BytesIO(base64.b64decode(download["content"]))).active
    assert ws["A1"].value == "医保电子凭证激活率 2024年第二季度（当期）"
    assert ws["A2"].value == "地区" and ws["B2"].value == "实际值"
    assert ws["A3"].value == "宁德市"
    assert ws["B3"].value == pytest.approx(rows[0]["actual"])
    assert ws["A4"].value == "'=HYPERLINK(\"http://x\")" and ws["A4"].data_type == "s"
    reporting = next(c.column_letter for c in ws[2] if c.value == "报送情况")
    assert ws[f"{reporting}4"].value == "'@SUM(A1)"
    # A negative gap stays a number (only text is escaped): 福安市 66 % against ≥ 70 %.
    fuan = [r for r in range(3, ws.max_row + 1) if ws.cell(row=r, column=1).value == "福安市"][0]
    assert ws.cell(row=fuan, column=4).value == pytest.approx(-4.0)


def test_chase_list_export_over_http(server):
    """The 催报 list as Excel: 2024 monthly returns due and missing (the test runs after 2025-01-10)."""
    _, base, _ = server
    client = DashClient(base)
    search = f"?jurisdiction={NINGDE}&period=2024Q2&frequency=月度"
    payload = {
        "output": "submissions-download.data",
        "outputs": {"id": "submissions-download", "property": "data"},
        "inputs": [{"id": "submissions-export", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["submissions-export.n_clicks"],
        "state": [{"id": "_pages_location", "property": "search", "value": search}],
    }
    status, body, _ = client.post_callback(payload)
    assert status == 200
    download = json.loads(body)["response"]["submissions-download"]["data"]
    assert download["filename"] == "宁德市_2024年月度_催报清单.xlsx"
    ws = openpyxl.load_workbook(io.BytesIO(base64.b64decode(download["content"]))).active
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    # 柘荣县 sent nothing (12 months); the other 9 districts reported January–June only (9 × 6).
    assert len(rows) == 12 + 9 * 6
    assert rows[0][:3] == ("柘荣县", "2024年1月", "2024-02-10")     # the oldest first
    assert sum(1 for r in rows if r[0] == "柘荣县") == 12
    assert {r[1] for r in rows if r[0] == "蕉城区"} == {f"2024年{m}月" for m in range(7, 13)}
