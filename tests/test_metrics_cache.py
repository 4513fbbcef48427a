"""The metrics memo of a server: same answers as without it, never stale after a write."""
from __future__ import annotations

import threading

import pandas as pd
import pytest

from dashboards.store import Warehouse
from pipelines.metrics import Metrics
from pipelines.memo import ResultCache
from test_metrics import ACT, CITY, FUAN, JIAOCHENG, SET, load, row


@pytest.fixture
def warehouse(warehouse_path):
    w = Warehouse(warehouse_path)
    yield w
    w.close()


def _rows(extra=()):
    return [(JIAOCHENG, SET, "2022-10", 30, 100), (JIAOCHENG, SET, "2022-11", 40, 100),
            (JIAOCHENG, ACT, "2022-12", 72, 100), (FUAN, ACT, "2022-12", 600, 1000), *extra]


def test_cached_answers_equal_uncached_ones_and_are_private_copies(warehouse):
    store = warehouse
    store.write(lambda con: load(con, _rows()))
    cur = warehouse.cursor()
    cached, plain = Metrics(cur, cache=warehouse.cache), Metrics(cur)
    first = cached.gaps("2022Q4", region=CITY)
    hits = warehouse.cache.hits
    second = cached.gaps("2022Q4", region=CITY)
    assert warehouse.cache.hits == hits + 1
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(second, plain.gaps("2022Q4", region=CITY))
    first.loc[:, "actual"] = -1.0                       # a caller scribbling on its answer
    assert row(cached.gaps("2022Q4", region=CITY), CITY, ACT).actual == pytest.approx(672 / 1100 * 100)
    assert cached.periods("350900", "Q") == plain.periods("350900", "Q")
    cur.close()


def test_a_write_through_the_store_is_seen_at_once(warehouse):
    store = warehouse
    store.write(lambda con: load(con, _rows()))
    cur = warehouse.cursor()
    m = Metrics(cur, cache=warehouse.cache)
    assert row(m.gaps("2022Q4", region=CITY), FUAN, ACT).actual == pytest.approx(60.0)
    store.write(lambda con: load(con, [(FUAN, ACT, "2022-12", 700, 1000)]))   # a correction
    assert row(m.gaps("2022Q4", region=CITY), FUAN, ACT).actual == pytest.approx(70.0)
    assert row(m.gaps("2022Q4", region=CITY), CITY, ACT).actual == pytest.approx(772 / 1100 * 100)
    cur.close()


def test_an_answer_computed_across_a_change_is_not_kept():
    cache = ResultCache()
    started, release = threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait(5)
        return "old data"

    t = threading.Thread(target=lambda: cache.get_or_compute("k", slow))
    t.start()
    started.wait(5)
    cache.changed()                       # a write commits while the answer is being computed
    release.set()
    t.join(5)
    assert cache.get_or_compute("k", lambda: "new data") == "new data"


def test_the_cache_is_bounded():
    cache = ResultCache(max_entries=3)
    for k in range(10):
        cache.get_or_compute(k, lambda k=k: k)
    assert cache.get_or_compute(0, lambda: "recomputed") == "recomputed"
    assert cache.get_or_compute(9, lambda: "recomputed") == 9


def test_a_memoised_page_is_rebuilt_after_a_write(warehouse_path):
    import json
    import sys

    from dash._utils import to_json

    from app import create_app
    from dashboards.store import CONFIG_KEY
    app = create_app(warehouse_path)
    overview = sys.modules["dashboards.pages.overview"]       # loaded by Dash's pages
    w = app.server.config[CONFIG_KEY]
    store = app.server.extensions["ybjc_store"]
    try:
        with app.server.test_request_context("/"):
            store.write(lambda con: load(con, _rows()))
            args = dict(rendering="page", jurisdiction=CITY, period="2022Q4")
            first = overview.layout(**args)
            assert overview.layout(**args) is first                 # served from the memo
            assert "61.09" in to_json(first)
            store.write(lambda con: load(con, [(FUAN, ACT, "2022-12", 700, 1000)]))
            again = overview.layout(**args)
            assert again is not first
            text = json.dumps(json.loads(to_json(again)), ensure_ascii=False)
            assert "70.18" in text and "61.09" not in text           # 772 / 1100
    finally:
        w.close()
