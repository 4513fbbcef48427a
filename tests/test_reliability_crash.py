"""kill -9 of `python -m pipelines ingest` at random moments: the warehouse always opens, holds all
or none of each file, and a re-run converges to the state of one clean ingest."""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_reliability_kit import invariants, long_rows, write_long_table

ROOT = Path(__file__).resolve().parent.parent
YEARS = (2022, 2023, 2024)


def _ingest_cmd(db: Path, files: list[Path]) -> list[str]:
    return [sys.executable, "-m", "pipelines", "ingest", *map(str, files), "--db", str(db), "--user", "crash-test"]


def _run_ingest(db: Path, files: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(_ingest_cmd(db, files), cwd=db.parent, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "GX_ANALYTICS_ENABLED": "false"})


@pytest.fixture(scope="module")
def returns(tmp_path_factory, _initialised_template):
    """Three disjoint yearly long tables, and the state one clean ingest of them leaves."""
    tmp = tmp_path_factory.mktemp("crash")
    files, rows_of = [], {}
    for year in YEARS:
        rows = long_rows(year)
        path = write_long_table(tmp / f"宁德市_{year}年_汇总表.xlsx", rows)
        files.append(path)
        rows_of[hashlib.sha256(path.read_bytes()).hexdigest()] = len(rows)
    ref_dir = tmp / "reference"
    ref_dir.mkdir()
    ref = ref_dir / "warehouse.duckdb"
    shutil.copy(_initialised_template, ref)
    proc, duration, writing = _timed_ingest(ref, files)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    state = invariants(ref)
    assert state["files"] == rows_of, "a clean ingest must load every row of every file once"
    return {"files": files, "rows_of": rows_of, "clean": state, "duration": duration,
            "writing": writing, "template": _initialised_template, "tmp": tmp}


def _wal(db: Path) -> Path:
    return db.with_name(db.name + ".wal")


def _wait_for_wal(db: Path, proc: subprocess.Popen, timeout: float) -> float | None:
    """Seconds until the process starts writing (DuckDB's WAL appears), or None if it ended or
    the time ran out first."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if _wal(db).exists():
            return time.perf_counter() - t0
        if proc.poll() is not None:
            return None
        time.sleep(0.002)
    return None


def _timed_ingest(db: Path, files: list[Path]):
    """A clean ingest, timed: (process, seconds in all, seconds from its first write to its exit)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(_ingest_cmd(db, files), cwd=db.parent, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "GX_ANALYTICS_ENABLED": "false"})
    first_write = _wait_for_wal(db, proc, timeout=300)
    out, err = proc.communicate(timeout=300)
    duration = time.perf_counter() - t0
    proc.stdout, proc.stderr = out, err
    writing = duration - (first_write if first_write is not None else duration)
    return proc, duration, max(writing, 0.05)


def _kill_runs(returns, n_runs: int, seed: int, rerun_via_cli: bool) -> dict:
    rng = random.Random(seed)
    tally = {"runs": 0, "files_complete_at_kill": {}, "exited_before_kill": 0, "delays": []}
    for i in range(n_runs):
        run_dir = returns["tmp"] / f"run{seed}_{i}"
        run_dir.mkdir()
        db = run_dir / "warehouse.duckdb"
        shutil.copy(returns["template"], db)
        proc = subprocess.Popen(_ingest_cmd(db, returns["files"]), cwd=run_dir, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env={**os.environ, "GX_ANALYTICS_ENABLED": "false"})
        # Most of a run is start-up (imports); aim the kill inside the writing that follows:
        # a random share of the writing time measured in the clean run, after the first write,
        # skewed to its start (u²): the batch's load is short, the figures refresh after it long.
        started = _wait_for_wal(db, proc, timeout=4 * returns["duration"] + 30)
        delay = rng.uniform(0.0, 1.0) ** 2 * returns["writing"]
        time.sleep(delay)
        if started is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            tally["killed_mid_write"] = tally.get("killed_mid_write", 0) + 1
        else:
            tally["exited_before_kill"] += 1
        proc.wait()
        tally["runs"] += 1
        tally["delays"].append(round(delay, 2))

        state = invariants(db)          # opens, nothing half-written
        for content_hash, n in state["files"].items():
            assert n == returns["rows_of"][content_hash], f"run {i}: file {content_hash[:8]} holds {n} rows"
        done = len(state["files"])
        tally["files_complete_at_kill"][done] = tally["files_complete_at_kill"].get(done, 0) + 1

        if rerun_via_cli:
            rerun = _run_ingest(db, returns["files"])
            assert rerun.returncode == 0, rerun.stderr + rerun.stdout
        else:
            _rerun_in_process(db, returns["files"])
        final = invariants(db)
        assert final == returns["clean"], f"run {i}: re-run did not converge"
        shutil.rmtree(run_dir)
    return tally


def _rerun_in_process(db: Path, files: list[Path]) -> None:
    from pipelines import db as warehouse
    from pipelines.returns.ingest import ingest_files
    con = warehouse.connect(db)
    try:
        outcomes = ingest_files(con, list(files), user="crash-test", channel="cli",
                                archive_dir=db.parent / "raw")
    finally:
        con.close()
    assert all(o.status in ("accepted", "duplicate") for o in outcomes), [o.errors for o in outcomes]


def _report(name: str, tally: dict, artifacts_dir: Path) -> None:
    (artifacts_dir / f"{name}.json").write_text(json.dumps(tally, ensure_ascii=False, indent=1))
    print(f"\n{name}: {tally['runs']} runs killed; files complete at kill: {tally['files_complete_at_kill']}; "
          f"finished before the kill: {tally['exited_before_kill']}; killed while writing: "
          f"{tally.get('killed_mid_write', 0)}")


def test_kill_9_during_ingest_leaves_all_or_nothing(returns, artifacts_dir):
    tally = _kill_runs(returns, n_runs=15, seed=1, rerun_via_cli=False)
    _report("reliability_kill9", tally, artifacts_dir)
    assert tally["runs"] == 15
    assert tally.get("killed_mid_write", 0) >= 10, "the kills must land inside the writing"


@pytest.mark.soak
def test_kill_9_soak(returns, artifacts_dir):
    tally = _kill_runs(returns, n_runs=200, seed=2, rerun_via_cli=True)
    _report("reliability_kill9_soak", tally, artifacts_dir)
    assert tally["runs"] == 200
    assert tally.get("killed_mid_write", 0) >= 150, "the kills must land inside the writing"


def test_a_file_ingested_twice_changes_nothing(returns, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(returns["template"], db)
    first = _run_ingest(db, returns["files"][:1])
    again = _run_ingest(db, returns["files"][:1])
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    state = invariants(db)
    assert list(state["files"].values()) == [returns["rows_of"][hashlib.sha256(
        returns["files"][0].read_bytes()).hexdigest()]]
