"""POST /api/returns against a real server process: status codes, JSON answers, the values
that land in the warehouse (checked after the server has stopped), and 20 concurrent uploads."""
from __future__ import annotations

import shutil
import subprocess
import sys
import threading

import pytest
import requests

from webserver import REGION_A, REGION_B, ROOT, ServerProcess, add_accounts, fill_template

NINGDE_DISTRICTS = ["350902", "350981", "350982", "350921", "350922", "350923", "350924", "350925",
                    "350926", "350900901"]


@pytest.fixture(scope="module")
def api(_initialised_template, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    db_path = tmp / "warehouse.duckdb"
    shutil.copy(_initialised_template, db_path)
    tokens = add_accounts(db_path)
    from pipelines import db
    con = db.connect(db_path)
    files = {}
    try:
        files["march"] = fill_template(con, REGION_A, "2024-03", tmp / "蕉城_2024-03.xlsx", 90, 100)
        files["march_fixed"] = fill_template(con, REGION_A, "2024-03", tmp / "蕉城_2024-03_更正.xlsx", 95, 100)
        files["april_drop"] = fill_template(con, REGION_A, "2024-04", tmp / "蕉城_2024-04.xlsx", 50, 100)
        bad = fill_template(con, REGION_A, "2024-05", tmp / "蕉城_2024-05_错.xlsx", 60, 100)
        from openpyxl import load_workbook
        wb = load_workbook(bad)
        wb.worksheets[0]["C6"] = "六十"
        wb.save(bad)
        files["bad"] = bad
        files["fresh"] = fill_template(con, REGION_A, "2024-08", tmp / "蕉城_2024-08.xlsx", 80, 100)
        files["many"] = [fill_template(con, region, period, tmp / f"{region}_{period}.xlsx", 70 + i, 100 + i)
                         for i, (region, period) in enumerate(
                             (r, p) for r in NINGDE_DISTRICTS for p in ("2024-06", "2024-07"))]
    finally:
        con.close()
    srv = ServerProcess(db_path).__enter__()
    yield {"url": srv.url, "tokens": tokens, "files": files, "db": db_path, "srv": srv}
    if srv.proc.poll() is None:
        srv.__exit__(None, None, None)


def _post(api, role, path, name=None, token=None):
    token = token if token is not None else api["tokens"][role]
    with open(path, "rb") as fh:
        return requests.post(api["url"] + "/api/returns", headers={"Authorization": f"Bearer {token}"},
                             files={"file": (name or path.name, fh)}, timeout=120)


def test_accepted_return(api):
    r = _post(api, "reporter_a", api["files"]["march"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {**body, "status": "accepted", "duplicate": False, "rows": 2, "new": 2,
                    "revisions": 0, "errors": [], "warnings": [], "file_name": "蕉城_2024-03.xlsx"}


def test_same_file_again_is_a_duplicate(api):
    r = _post(api, "reporter_a", api["files"]["march"])
    assert r.status_code == 200
    assert r.json()["status"] == "accepted" and r.json()["duplicate"] is True and r.json()["rows"] == 2


def test_corrected_return_revises(api):
    r = _post(api, "reporter_a", api["files"]["march_fixed"])
    assert r.status_code == 200 and r.json()["revisions"] == 2 and r.json()["new"] == 0


def test_warning_only_file_is_accepted_with_its_warnings(api):
    r = _post(api, "admin", api["files"]["april_drop"])
    body = r.json()
    assert r.status_code == 200 and body["status"] == "accepted" and body["rows"] == 2
    assert body["warnings"] and all(w.startswith("填报表!") for w in body["warnings"])


def test_content_errors_are_422_with_sheet_and_cell(api):
    r = _post(api, "reporter_a", api["files"]["bad"])
    body = r.json()
    assert r.status_code == 422 and body["status"] == "rejected" and body["rows"] == 0
    assert any(e.startswith("填报表!C6") for e in body["errors"]), body["errors"]


@pytest.mark.parametrize("token, status", [("", 401), ("ybjc_not-a-token", 401), ("garbage", 401)])
def test_bad_tokens_are_401(api, token, status):
    r = _post(api, None, api["files"]["march"], token=token)
    assert r.status_code == status and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert "令牌" in r.json()["errors"][0]


def test_no_file_is_400_and_viewer_is_403(api):
    r = requests.post(api["url"] + "/api/returns", headers={"Authorization": "Bearer " + api["tokens"]["admin"]})
    assert r.status_code == 400 and "file" in r.json()["errors"][0]
    assert _post(api, "viewer", api["files"]["march"]).status_code == 403
    assert _post(api, "reporter_b", api["files"]["march"]).status_code == 403   # A's file, B's token


def _concurrently(n, fn):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        results[i] = fn(i)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results


def test_twenty_concurrent_uploads_all_land_once(api):
    many = api["files"]["many"]
    assert len(many) == 20
    answers = _concurrently(20, lambda i: _post(api, "admin", many[i]))
    assert [a.status_code for a in answers] == [200] * 20
    assert all(a.json()["duplicate"] is False and a.json()["rows"] == 2 for a in answers)
    # one new file sent 20 times at once: loaded once, 19 duplicates of that submission
    same = _concurrently(20, lambda i: _post(api, "admin", api["files"]["fresh"], name=f"copy{i}.xlsx"))
    assert [a.status_code for a in same] == [200] * 20
    assert sorted(a.json()["duplicate"] for a in same) == [False] + [True] * 19
    assert len({a.json()["submission_id"] for a in same}) == 1


def test_gap_table_over_http(api):
    """GET /api/gaps: the CLI's records. After the 20 uploads every 宁德 unit sent July: unit k
    reported 71 + 2k of 101 + 2k, so the city is Σ 800 / Σ 1100 = 72.7273 %, all 10 complete."""
    url = api["url"] + "/api/gaps"
    assert requests.get(url, params={"period": "2024-07"}, timeout=60).status_code == 401
    auth = {"Authorization": f"Bearer {api['tokens']['viewer']}"}
    r = requests.get(url, params={"period": "2024-07", "region": "宁德市"}, headers=auth, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["columns"][:13] == [
        "region_code", "region_name", "indicator_code", "indicator_name", "period", "actual", "target",
        "gap", "status", "figure_period", "judged_on", "reporters", "expected_reporters"]
    rows = {(x["region_code"], x["indicator_code"]): x for x in body["records"]}
    city = rows[("350900", "evoucher_activation_rate")]
    assert (city["actual"], city["status"], city["figure_period"]) == (72.7273, "达标", "2024-07")
    assert (city["reporters"], city["expected_reporters"]) == (10, 10)
    # the yearly target on 结算率 judges January–July: only June and July are in, so not rated
    assert rows[("350900", "evoucher_settlement_rate")]["status"] == "数据不全"
    bad = requests.get(url, params={"period": "2024第五季度"}, headers=auth, timeout=60)
    assert bad.status_code == 400 and bad.json()["status"] == "rejected" and "统计期" in bad.json()["errors"][0]
    bad = requests.get(url, params={"period": "2024Q2", "basis": "全年"}, headers=auth, timeout=60)
    assert bad.status_code == 400 and "basis" in bad.json()["errors"][0]


def test_reporting_rate_api(api):
    url = api["url"] + "/api/reporting-rate"
    auth = {"Authorization": f"Bearer {api['tokens']['viewer']}"}
    assert requests.get(url, params={"region": "350900", "year": "2024"}, timeout=60).status_code == 401
    # As of the last day of 2024 nothing of this module's uploads (made today) was in: January to
    # November were due (December's returns are due 2025-01-10) from each of 宁德's 10 units.
    r = requests.get(url, params={"region": "宁德市", "year": "2024", "as_of": "2024-12-31"},
                     headers=auth, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["jurisdiction"] == "350900" and body["frequency"] == "月度"
    t = body["total"]
    assert (t["owed"], t["received"], t["missing"], t["not_due"]) == (110, 0, 110, 10)
    assert t["completeness"] == 0.0 and t["timeliness"] == 0.0
    assert len(body["regions"]) == 10 and [p["period"] for p in body["periods"]][-1] == "2024-12"
    assert body["periods"][-1]["completeness"] is None
    for params, word in (({"region": "350900"}, "year"), ({"region": "火星市", "year": "2024"}, "火星市"),
                         ({"region": "350900", "year": "2024", "frequency": "每周"}, "每周"),
                         ({"region": "350902", "year": "2024"}, "不是辖区")):
        r = requests.get(url, params=params, headers=auth, timeout=60)
        assert r.status_code == 400 and r.json()["status"] == "rejected", r.text
        assert word in r.json()["errors"][0]


def test_warehouse_after_server_stops(api):
    """Everything the answers claimed, read back from the DuckDB file itself."""
    api["srv"].__exit__(None, None, None)
    from pipelines import db
    con = db.connect(api["db"], read_only=True)
    try:
        current = con.execute(
            "SELECT indicator_code, numerator, denominator FROM return_values WHERE region_code = ? "
            "AND period = '2024-03' AND superseded_at IS NULL ORDER BY 1", [REGION_A]).fetchall()
        assert current == [("evoucher_activation_rate", 95.0, 100.0), ("evoucher_settlement_rate", 95.0, 100.0)]
        history = con.execute("SELECT count(*) FROM return_values WHERE region_code = ? AND period = '2024-03'",
                              [REGION_A]).fetchone()[0]
        assert history == 4                                   # 90/100 kept, superseded by 95/100
        assert con.execute("SELECT count(*) FROM return_values WHERE region_code = ? AND period "
                           "NOT IN ('2024-06', '2024-07')", [REGION_B]).fetchone()[0] == 0
        per_file = con.execute(
            "SELECT s.file_name, count(v.value_id) FROM submissions s LEFT JOIN return_values v "
            "USING (submission_id) WHERE s.status = 'accepted' AND s.file_name LIKE '%2024-0_.xlsx' "
            "AND s.file_name NOT LIKE '蕉城%' GROUP BY 1").fetchall()
        assert len(per_file) == 20 and all(n == 2 for _, n in per_file)
        for region in NINGDE_DISTRICTS:
            for period in ("2024-06", "2024-07"):
                n = con.execute("SELECT count(*) FROM return_values WHERE region_code = ? AND period = ?",
                                [region, period]).fetchone()[0]
                assert n == 2, (region, period, n)
        fresh = con.execute("SELECT count(*) FROM submissions WHERE file_name LIKE 'copy%'").fetchone()[0]
        assert fresh == 1
        assert con.execute("SELECT count(*) FROM return_values WHERE region_code = ? AND period = '2024-08'",
                           [REGION_A]).fetchone()[0] == 2
        rejected = con.execute("SELECT count(*) FROM submissions WHERE status = 'rejected' "
                               "AND file_name = '蕉城_2024-05_错.xlsx'").fetchone()[0]
        assert rejected == 1
        audit = con.execute("SELECT count(*) FROM audit_log WHERE action = 'ingest' AND "
                            "json_extract_string(detail, '$.channel') = 'api'").fetchone()[0]
        assert audit >= 24
    finally:
        con.close()
    # the figures follow: 95/100 → 95 % for 蕉城区 in 2024-03 (CLI of the metrics module)
    out = subprocess.run([sys.executable, "-m", "pipelines", "gaps", "--db", str(api["db"]), "--period",
                          "2024-03", "--region", "350900", "--format", "json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import json
    rows = {(r["region_code"], r["indicator_code"]): r for r in json.loads(out.stdout)}
    assert rows[(REGION_A, "evoucher_activation_rate")]["actual"] == pytest.approx(95.0)
    assert rows[(REGION_A, "evoucher_settlement_rate")]["actual"] == pytest.approx(95.0)


