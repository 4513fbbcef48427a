"""The server's upload path (Warehouse.ingest): files are read by the server's parse workers and
validated without the write lock; the lock is held for the load alone. Real warehouse, real
worker processes, real .xlsx files."""
from __future__ import annotations

import threading
import time

import pytest

from dashboards.store import Warehouse
from pipelines.returns.ingest import archive_path_for
from test_reliability_kit import long_rows, write_long_table


@pytest.fixture
def store(warehouse_path):
    w = Warehouse(warehouse_path)
    yield w
    w.close()


def test_the_store_uses_the_warehouse_parse_pool(store):
    assert store.parser is not None and store.parser.limits.workers == 2


def test_reading_and_validating_do_not_wait_for_the_write_lock(store, tmp_path):
    """Another writer holds the lock: the preview is answered meanwhile, and a real upload is
    read, validated and archived meanwhile, then loaded once the lock is free."""
    path = write_long_table(tmp_path / "蕉城区2024.xlsx", long_rows(2024, districts=["350902"]))
    item = (path.name, path.read_bytes())
    store.parser.warm_up()
    released = threading.Event()

    def hold():
        with store.write_lock:
            released.wait(60)
    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.1)
    [preview] = store.ingest([item], user="admin", channel="web", dry_run=True)
    assert holder.is_alive() and store.write_lock.locked(), "answered while the lock was held"
    assert preview.status == "accepted" and preview.rows == 12 * 3 + 4 * 4 and preview.submission_id is None

    result: dict = {}
    uploader = threading.Thread(target=lambda: result.update(
        out=store.ingest([item], user="admin", channel="web")[0]))
    uploader.start()
    archived = archive_path_for(store.archive_dir, preview.content_hash, path.name)
    deadline = time.monotonic() + 30
    while not archived.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert archived.exists(), "read, validated and archived while another writer held the lock"
    assert store.read(lambda con: con.execute("SELECT count(*) FROM return_values").fetchone()[0]) == 0
    assert "out" not in result                        # ...but not loaded before the lock is free
    released.set()
    holder.join()
    uploader.join(30)
    out = result["out"]
    assert out.status == "accepted" and out.new == 52 and out.submission_id is not None
    assert store.read(lambda con: con.execute("SELECT count(*) FROM return_values").fetchone()[0]) == 52


def test_a_hostile_upload_is_answered_and_leaves_nothing(store, tmp_path):
    import ooxml_factory as f
    [out] = store.ingest([("far.xlsx", f.far_cell(strict=True))], user="admin", channel="api")
    assert out.status == "rejected" and "1048576 行" in str(out.errors[0]) and out.errors[0].sheet == "Sheet1"
    rows = store.read(lambda con: con.execute("SELECT status, file_name FROM submissions").fetchall())
    assert rows == [("rejected", "far.xlsx")]
    assert store.read(lambda con: con.execute("SELECT count(*) FROM return_values").fetchone()[0]) == 0


def test_an_upload_is_answered_before_the_figures_refresh_which_follows_in_the_background(store, tmp_path):
    """The server answers once the values are committed; its figures table catches up in the
    background, and meanwhile a reader finds the marks and computes the same figures."""
    from pipelines.metrics import Metrics, figure_table
    path = write_long_table(tmp_path / "蕉城区2024.xlsx", long_rows(2024, districts=["350902"]))
    marks = lambda con: con.execute("SELECT count(*) FROM figure_dirty").fetchone()[0]   # noqa: E731
    [out] = store.ingest([(path.name, path.read_bytes())], user="admin", channel="web")
    assert out.status == "accepted" and out.new == 52
    assert store.read(marks) > 0, "answered before the refresh (the first one of a city takes ~1 s)"
    # June 2024 of 蕉城区 as the generator wrote it, computed by hand
    [(_, _, _, num, den, _)] = [r for r in long_rows(2024, districts=["350902"])
                                if r[1] == "2024-06" and r[2] == "evoucher_activation_rate"]

    def june(con):
        gaps = Metrics(con).gaps("2024-06", region="350900")
        return gaps.set_index(["region_code", "indicator_code"]).loc[("350902", "evoucher_activation_rate"), "actual"]
    assert store.read(june) == pytest.approx(100 * num / den)          # computed meanwhile
    deadline = time.monotonic() + 60
    while store.read(marks) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.read(marks) == 0, "the background refresh cleared the marks"
    assert store.read(lambda con: figure_table.readable(con, figure_table.PRESENT, ["350900"], [2024]))
    assert store.read(june) == pytest.approx(100 * num / den)          # read from the table

    def both(con):
        cols = ["region_code", "indicator_code", "status", "actual", "target", "rank", "streak"]
        stored = Metrics(con).gaps("2024Q2", region="350900")[cols]
        engine = Metrics(con, stored=False).gaps("2024Q2", region="350900")[cols]
        return stored.astype(object).where(stored.notna(), None).values.tolist(), \
            engine.astype(object).where(engine.notna(), None).values.tolist()
    stored, engine = store.read(both)
    assert stored == engine and len(stored) > 10


def test_an_upload_loads_while_a_figures_refresh_runs(store, tmp_path):
    """A refresh (which holds the figures lock for seconds under load) does not hold up uploads:
    the upload is loaded and answered while the lock is held; an admin write waits for it."""
    from pipelines.metrics import Metrics
    path = write_long_table(tmp_path / "福安市2024.xlsx", long_rows(2024, districts=["350981"]))
    store.parser.warm_up()
    released, held = threading.Event(), threading.Event()

    def refreshing():
        with store.figures_lock:
            held.set()
            released.wait(60)
    holder = threading.Thread(target=refreshing)
    holder.start()
    assert held.wait(10)
    try:
        [out] = store.ingest([(path.name, path.read_bytes())], user="admin", channel="web")
        assert holder.is_alive() and store.figures_lock.locked(), "loaded while the refresh ran"
        assert out.status == "accepted" and out.new == 52
        [(_, _, _, num, den, _)] = [r for r in long_rows(2024, districts=["350981"])
                                    if r[1] == "2024-06" and r[2] == "evoucher_activation_rate"]
        gaps = store.read(lambda con: Metrics(con).gaps("2024-06", region="350900"))
        actual = gaps.set_index(["region_code", "indicator_code"]).loc[("350981", "evoucher_activation_rate"), "actual"]
        assert actual == pytest.approx(100 * num / den)              # computed from the values
        wrote = threading.Event()
        admin = threading.Thread(target=lambda: (store.write(lambda con: None), wrote.set()))
        admin.start()
        assert not wrote.wait(0.3), "an admin write waits for the refresh"
    finally:
        released.set()
        holder.join()
    admin.join(10)
    assert wrote.is_set()


def test_the_preview_of_an_upload_leaves_the_cache_warm_and_the_values_alone(store, tmp_path):
    """The page checks a file before the official confirms it: that dry run (`check`) changes
    no value and clears no cached answer; the confirmed upload then does both."""
    from pipelines.metrics import Metrics
    first = write_long_table(tmp_path / "蕉城区2023.xlsx", long_rows(2023, districts=["350902"]))
    store.ingest([(first.name, first.read_bytes())], user="admin", channel="web")
    deadline = time.monotonic() + 60           # the background refresh is a change of its own
    while (store._refreshing or store.read(lambda con: con.execute(
            "SELECT count(*) FROM figure_dirty").fetchone()[0])) and time.monotonic() < deadline:
        time.sleep(0.05)
    cur = store.cursor()
    try:
        m = Metrics(cur, cache=store.cache)
        before = m.gaps("2023Q4", region="350900")
        version, hits = store.cache.version, store.cache.hits
        path = write_long_table(tmp_path / "蕉城区2024.xlsx", long_rows(2024, districts=["350902"]))
        [preview] = store.check([(path.name, path.read_bytes())], user="admin", channel="web")
        assert preview.status == "accepted" and preview.rows == 52 and preview.submission_id is None
        assert store.cache.version == version, "a dry run cleared the cache"
        # a reporter previewing a file already loaded: its scope is checked against the loaded
        # submission (a write of the lock's kind), still nothing cleared
        [dup] = store.check([(first.name, first.read_bytes())], user="蕉城", channel="web",
                            allowed_regions={"350902"})
        assert dup.status == "duplicate" and store.cache.version == version
        again = m.gaps("2023Q4", region="350900")
        assert store.cache.hits == hits + 1, "the answer was recomputed after a dry run"
        assert again.equals(before)
        count = store.read(lambda con: con.execute(
            "SELECT count(*) FROM return_values WHERE year = 2024").fetchone()[0])
        assert count == 0
        [out] = store.ingest([(path.name, path.read_bytes())], user="admin", channel="web")
        assert out.status == "accepted" and out.new == 52
        assert store.cache.version > version
    finally:
        cur.close()


def test_concurrent_uploads_each_answered_with_its_own_outcome(store, tmp_path):
    """Eight uploads at once (one of them invalid, one content sent twice): every upload gets
    the outcome it would get alone — the valid ones accepted
    with their 52 values, the invalid one rejected with nothing loaded, the second copy a
    duplicate of the first."""
    districts = ["350902", "350981", "350982", "350921", "350922", "350923"]
    files = [write_long_table(tmp_path / f"{d}_2024.xlsx", long_rows(2024, districts=[d])) for d in districts]
    bad = write_long_table(tmp_path / "bad.xlsx", [("蕉城区", "2024-01", "电子凭证激活率", 120, 100, None)])
    items = [(p.name, p.read_bytes()) for p in files] + [(bad.name, bad.read_bytes()), (files[0].name, files[0].read_bytes())]
    store.parser.warm_up()
    results: dict = {}
    barrier = threading.Barrier(len(items))

    def upload(k):
        barrier.wait()
        results[k] = store.ingest([items[k]], user="admin", channel="api")
    threads = [threading.Thread(target=upload, args=(k,)) for k in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(results) == list(range(len(items)))
    assert all(len(v) == 1 and v[0].file_name == items[k][0] for k, v in results.items())
    accepted = [results[k][0] for k in range(len(files))]
    first, copy = accepted[0], results[len(items) - 1][0]
    rejected = results[len(files)][0]
    # the two copies: one accepted, the other a duplicate of it (whichever loaded first)
    pair = sorted([first, copy], key=lambda o: o.status)
    assert [o.status for o in pair] == ["accepted", "duplicate"] and pair[1].submission_id == pair[0].submission_id
    assert all(o.status == "accepted" and o.new == 12 * 3 + 4 * 4 for o in accepted[1:])
    assert rejected.status == "rejected" and rejected.errors and rejected.submission_id is not None
    n = store.read(lambda con: con.execute("SELECT count(*) FROM return_values").fetchone()[0])
    assert n == len(files) * 52                      # each district once, nothing of the invalid file
