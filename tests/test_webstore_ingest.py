"""The server's upload path (WebStore.ingest): files are read by the server's parse workers and
validated without the write lock; the lock is held for the load alone. Real warehouse, real
worker processes, real .xlsx files."""
from __future__ import annotations

import threading
import time

import pytest

from dashboards.store import Warehouse
from dashboards.webstore import WebStore
from pipelines.ingest import archive_path_for
from test_reliability_kit import long_rows, write_long_table


@pytest.fixture
def store(warehouse_path):
    w = Warehouse(warehouse_path)
    yield WebStore.of(w)
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
    assert store.run(lambda con: con.execute("SELECT count(*) FROM return_values").fetchone()[0]) == 0
    assert "out" not in result                        # ...but not loaded before the lock is free
    released.set()
    holder.join()
    uploader.join(30)
    out = result["out"]
    assert out.status == "accepted" and out.new == 52 and out.submission_id is not None
    assert store.run(lambda con: con.execute("SELECT count(*) FROM return_values").fetchone()[0]) == 52


def test_a_hostile_upload_is_answered_and_leaves_nothing(store, tmp_path):
    import ooxml_factory as f
    [out] = store.ingest([("far.xlsx", f.far_cell(strict=True))], user="admin", channel="api")
    assert out.status == "rejected" and "1048576 行" in str(out.errors[0]) and out.errors[0].sheet == "Sheet1"
    rows = store.run(lambda con: con.execute("SELECT status, file_name FROM submissions").fetchall())
    assert rows == [("rejected", "far.xlsx")]
    assert store.run(lambda con: con.execute("SELECT count(*) FROM return_values").fetchone()[0]) == 0
