"""The reading commands while the dashboard server holds the warehouse: `gaps`, `template` and
`bulletin` ask the server for a read-only snapshot (pipelines/reader_snapshot.py) and read it
instead of failing on DuckDB's lock, and say so. Real `python app.py` process, real CLI processes.

Figures: the 宁德市 returns of tests/bulletin_data.py — 全程网办事项占比 2024Q3 for the city
(45 + 40 + 30 + 7·37) / 500 = 374 / 500 = 74.80 %, 未达标.
"""
from __future__ import annotations

import csv
import io
import subprocess
import sys
import time

import pytest

from bench.run import serve_app
from bulletin_data import FULL, ROOT, _env, build_warehouse


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "pipelines", *args], capture_output=True,
                          text=True, cwd=ROOT, env=_env(), timeout=180)


def test_gaps_template_and_bulletin_work_while_the_server_runs(tmp_path):
    from pipelines.reader_snapshot import snapshot_path
    db_path = tmp_path / "warehouse.duckdb"
    build_warehouse(db_path)
    with serve_app(db_path) as (proc, base, ready):
        snap = snapshot_path(db_path)
        time.sleep(1.5)
        assert not snap.exists(), "the server copies the warehouse only when a command asks"
        gaps = _cli("gaps", "--db", str(db_path), "--period", "2024Q3", "--region", "宁德市")
        assert gaps.returncode == 0, gaps.stderr
        assert "只读快照" in gaps.stderr and "占用" not in gaps.stderr
        rows = {(r["region_code"], r["indicator_code"]): r for r in csv.DictReader(io.StringIO(gaps.stdout))}
        city = rows[("350900", FULL)]
        assert float(city["actual"]) == pytest.approx(74.8) and city["status"] == "未达标"
        template = _cli("template", "--db", str(db_path), "--region", "蕉城区", "--period", "2024-10",
                        "--out", str(tmp_path / "t.xlsx"))
        assert template.returncode == 0, template.stderr
        assert (tmp_path / "t.xlsx").exists()
        out = tmp_path / "out"
        bulletin = _cli("bulletin", "--db", str(db_path), "--quarter", "2024Q3", "--region", "宁德市",
                        "--issue-date", "2024-10-15", "--out", str(out))
        assert bulletin.returncode == 0, bulletin.stderr
        assert "只读快照" in bulletin.stderr and "未写入审计日志" in bulletin.stderr
        assert len(list(out.glob("*.docx"))) == 1 and len(list(out.glob("*.xlsx"))) == 1
        assert proc.poll() is None                  # the server kept running throughout
