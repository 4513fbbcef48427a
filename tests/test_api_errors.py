"""One JSON refusal (dashboards/errors.py) from every part of a real server: the upload API,
the gaps API, security (anonymous and forbidden), downloads, bulletin files, a body too large."""
from __future__ import annotations

import shutil

import pytest
import requests

from webserver import Client, ServerProcess, add_accounts, assert_json_error


@pytest.fixture(scope="module")
def api(_initialised_template, tmp_path_factory):
    db_path = tmp_path_factory.mktemp("api_errors") / "warehouse.duckdb"
    shutil.copy(_initialised_template, db_path)
    tokens = add_accounts(db_path)
    with ServerProcess(db_path) as srv:
        yield {"url": srv.url, "tokens": tokens}


def test_every_json_refusal_has_the_one_shape(api):
    """API, security, downloads and bulletin files: the same JSON for every refusal."""
    base = api["url"]
    assert_json_error(requests.post(base + "/api/returns", timeout=30), 401, "令牌")
    assert_json_error(requests.get(base + "/api/gaps", params={"period": "2024Q9"},
                                   headers={"Authorization": f"Bearer {api['tokens']['viewer']}"},
                                   timeout=30), 400, "统计期")
    anonymous = requests.get(base + "/admin/download/targets", headers={"Accept": "application/json"},
                             timeout=30)
    assert_json_error(anonymous, 401)
    reporter = Client(base)
    assert reporter.login("reporter_a").status_code == 302
    assert_json_error(reporter.get("/admin/download/targets", headers={"Accept": "application/json"}), 403)
    admin = Client(base)
    assert admin.login("admin").status_code == 302
    assert_json_error(admin.get("/admin/bulletin/" + "0" * 32 + "/通报.docx"), 404, "重新生成")
    big = requests.post(base + "/api/returns", headers={"Authorization": f"Bearer {api['tokens']['admin']}"},
                        files={"file": ("big.xlsx", b"0" * (60 * 1024 * 1024))}, timeout=120)
    body = assert_json_error(big, 413, "文件过大")
    assert body["rows"] == 0 and body["warnings"] == []
