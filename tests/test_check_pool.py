"""pipelines/returns/check_pool.py: the server's GX runs happen in worker processes and find
exactly what a run in the caller's process finds; a broken pool falls back to the caller."""
from __future__ import annotations

import os
import signal
import time

from pipelines.returns.check_pool import CheckPool
from pipelines.returns.validate import Failure, run_checks


class Recorder:
    """A checker that records what validate asks it to run and runs it here."""

    def __init__(self):
        self.asked = []

    def run(self, frame, checks, params):
        self.asked.append((frame.copy(), checks, params))
        return run_checks(frame, checks, params)


def _batch_with_faults(con, tmp_path):
    """The GX input of a long table with three faults: an unknown region, a numerator above its
    denominator, and a row given twice — captured from the real check path."""
    from pipelines.returns.ingest import check_files
    from test_reliability_kit import long_rows, write_long_table
    rows = long_rows(2023, districts=["蕉城区"], months=range(1, 3))
    rows[0] = ("不存在县", *rows[0][1:])
    region, period, ind, num, den, note = rows[1]
    rows[1] = (region, period, ind, den + 5, den, note)
    rows.append(rows[2])
    path = write_long_table(tmp_path / "faults.xlsx", rows)
    rec = Recorder()
    outcome = check_files(con, [path], dry_run=True, checker=rec).outcomes[0]
    assert outcome.status == "rejected" and len(rec.asked) == 1
    return rec.asked[0]


def test_pool_runs_in_workers_and_agrees_with_this_process(con, tmp_path):
    frame, checks, params = _batch_with_faults(con, tmp_path)
    here = run_checks(frame, checks, params)
    assert all(isinstance(f, Failure) for f in here)
    # the three faults, found by GX at the rows put there (the repeated row is the last)
    found = {f.check: f.rows for f in here if f.level == "error"}
    assert found["region"] == (0,) and found["share"] == (1,) and found["unique"] == (2, len(frame) - 1)
    pool = CheckPool(workers=1)
    try:
        pool.warm_up()
        there = pool.run(frame, checks, params)
        pids = pool.worker_pids()
        assert pids and os.getpid() not in pids
        assert there == here
        assert pool.fallbacks == 0
        # A worker killed between runs: the next run is done here, the pool is replaced.
        os.kill(pids[0], signal.SIGKILL)
        time.sleep(0.5)
        assert pool.run(frame, checks, params) == here
        assert pool.fallbacks == 1
        assert pool.run(frame, checks, params) == here
        assert pool.fallbacks == 1 and pool.worker_pids() and pool.worker_pids() != pids
    finally:
        pool.close()


def test_workers_end_when_their_server_is_killed(tmp_path):
    """A server killed with SIGKILL never closes its pool: its check workers end by themselves."""
    import subprocess
    import sys
    code = ("import time\n"
            "from pipelines.returns.check_pool import CheckPool\n"
            "pool = CheckPool(workers=2)\n"
            "pool.warm_up()\n"
            "deadline = time.time() + 60\n"
            "while len(pool.worker_pids()) < 2 and time.time() < deadline:\n"
            "    time.sleep(0.05)\n"
            "print(*pool.worker_pids(), flush=True)\n"
            "time.sleep(120)\n")
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        pids = [int(p) for p in server.stdout.readline().split()]
        assert len(pids) == 2 and all(os.path.exists(f"/proc/{p}") for p in pids)
    finally:
        server.kill()
        server.wait()
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), "a check worker outlived its server"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False
