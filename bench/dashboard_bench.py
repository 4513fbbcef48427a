"""Dashboard speed: warm callback latency over HTTP against a real `python app.py` process.

`run(db_path, label)` starts the server, finds a jurisdiction and period with data, and POSTs the
page callbacks to /_dash-update-component (the router callback that renders the overview and
the indicator page, and the provenance panel). Each figure stands next to the metrics query it
wraps (reference_value: the same Metrics calls timed in this process on a read-only copy), plus
the JSON size of the overview response. Budget: p95 ≤ 50 ms at city scale.
"""
from __future__ import annotations

import concurrent.futures
import json
import shutil
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.run import figure, serve_app

WARMUP, RUNS = 3, 30
BUDGET_MS = {"city": 50.0, "national": 150.0}
CONCURRENT = 4
CONCURRENT_BUDGET_MS = {"national": 250.0}
FIRST_VIEW_BUDGET_MS = {"city": 150.0, "national": 300.0}
FIRST_VIEWS = 12


def router_payload(pathname: str, search: str = "") -> dict:
    """The body Dash's renderer POSTs when the URL changes (pages router callback)."""
    return {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [{"id": "_pages_content", "property": "children"},
                    {"id": "_pages_store", "property": "data"}],
        "inputs": [{"id": "_pages_location", "property": "pathname", "value": pathname},
                   {"id": "_pages_location", "property": "search", "value": search}],
        "changedPropIds": ["_pages_location.search"],
        "state": [{"id": "shell-render", "property": "data", "value": "page"}],
    }


def provenance_payload(region: str, indicator: str, period: str, basis: str = "period") -> dict:
    from dashboards import ids
    request = {"region": region, "indicator": indicator, "period": period, "basis": basis}
    return {
        "output": f"..{ids.PROV_MODAL}.className...{ids.PROV_BODY}.children..",
        "outputs": [{"id": ids.PROV_MODAL, "property": "className"},
                    {"id": ids.PROV_BODY, "property": "children"}],
        "inputs": [{"id": ids.PROV_STORE, "property": "data", "value": request},
                   {"id": ids.PROV_CLOSE, "property": "n_clicks", "value": None}],
        "changedPropIds": [f"{ids.PROV_STORE}.data"],
        "state": [{"id": "_pages_location", "property": "search", "value": ""}],
    }


class DashClient:
    """An HTTP client of the running app: keeps the session cookie and sends the CSRF token."""

    def __init__(self, base: str):
        import http.cookiejar
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str, timeout: float = 30.0) -> tuple[int, bytes]:
        with self.opener.open(self.base + path, timeout=timeout) as resp:
            return resp.status, resp.read()

    def csrf(self) -> str:
        from dashboards.security import CSRF_COOKIE   # the cookie dash-renderer reads
        token = next((c.value for c in self.jar if c.name == CSRF_COOKIE), None)
        if token is None:
            self.get("/")
            token = next((c.value for c in self.jar if c.name == CSRF_COOKIE), "")
        return token

    def post_callback(self, payload: dict, timeout: float = 30.0) -> tuple[int, bytes, float]:
        """POST one callback; returns (status, body, seconds)."""
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "X-CSRFToken": self.csrf()}
        req = urllib.request.Request(self.base + "/_dash-update-component", method="POST",
                                     data=json.dumps(payload).encode(), headers=headers)
        start = time.perf_counter()
        with self.opener.open(req, timeout=timeout) as resp:
            body = resp.read()
            return resp.status, body, time.perf_counter() - start


def _pick_view(db_path) -> dict:
    """A jurisdiction, its latest quarter with data, an indicator and a district with data, and
    the jurisdiction's other periods (for first views that the server has not answered yet)."""
    from pipelines import db
    from pipelines.metrics import Metrics
    con = db.connect(db_path, read_only=True)
    try:
        m = Metrics(con)
        for code in m.jurisdictions()["code"]:
            quarters = m.periods(code, "Q")
            if not quarters:
                continue
            inds = m.indicators(code)
            inds = inds[inds["has_data"]]
            if inds.empty:
                continue
            gaps = m.gaps(quarters[-1], region=code, indicators=[inds["code"].iloc[0]])
            child = gaps[~gaps["is_parent"] & gaps["actual"].notna()]
            others = [p for t in ("M", "Q", "Y") for p in m.periods(code, t) if p != quarters[-1]]
            return {"jurisdiction": code, "period": quarters[-1], "indicator": inds["code"].iloc[0],
                    "district": child["region_code"].iloc[0] if not child.empty else code,
                    "frequency": inds["frequency"].iloc[0], "other_periods": others}
    finally:
        con.close()
    raise RuntimeError("数据仓库中没有任何报送数据：请先运行 python -m pipelines demo")


def _metrics_times(db_path, view: dict) -> dict[str, float]:
    """Median time of the Metrics calls each callback wraps, in this process (ms)."""
    from dashboards.tables import series_window
    from pipelines import db
    from pipelines.metrics import Metrics
    con = db.connect(db_path, read_only=True)
    j, p, ind = view["jurisdiction"], view["period"], view["indicator"]
    freq, start, end, _ = series_window(view["frequency"], int(p[:4]))

    def overview(m):
        m.jurisdictions(), m.periods(j, "M"), m.periods(j, "Q"), m.periods(j, "Y")
        m.gaps(p, region=j), m.data_as_of(j)

    def indicator(m):
        m.jurisdictions(), m.periods(j, "M"), m.periods(j, "Q"), m.periods(j, "Y")
        m.indicators(j), m.gaps(p, region=j, indicators=[ind]), m.series(j, ind, start, end, freq=freq)

    def provenance(m):
        m.gaps(p, region=view["district"], indicators=[ind]), m.provenance(view["district"], ind, p)

    out = {}
    try:
        for name, fn in (("overview", overview), ("indicator", indicator), ("provenance", provenance)):
            times = []
            for i in range(WARMUP + 10):
                start_t = time.perf_counter()
                fn(Metrics(con.cursor()))
                if i >= WARMUP:
                    times.append(time.perf_counter() - start_t)
            out[name] = statistics.median(times) * 1000
    finally:
        con.close()
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(db_path, label: str = "city") -> list[dict]:
    db_path = Path(db_path)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "reference.duckdb"       # the server owns db_path while it runs
        shutil.copy(db_path, copy)
        view = _pick_view(copy)
        reference = _metrics_times(copy, view)
    search = f"?jurisdiction={view['jurisdiction']}&period={view['period']}"
    calls = {
        "overview": router_payload("/", search),
        "indicator": router_payload("/indicator", search + f"&indicator={view['indicator']}"),
        "provenance": provenance_payload(view["district"], view["indicator"], view["period"]),
    }
    budget = BUDGET_MS.get(label)
    figures = []
    with serve_app(db_path) as (_proc, base, _ready):
        client = DashClient(base)
        for name, payload in calls.items():
            times, size = [], 0
            for i in range(WARMUP + RUNS):
                status, body, seconds = client.post_callback(payload)
                if status != 200:
                    raise RuntimeError(f"{name} 回调返回 HTTP {status}")
                if i >= WARMUP:
                    times.append(seconds * 1000)
                size = len(body)
            figures += [
                figure(f"dashboard.{label}.{name}_callback_p50", statistics.median(times), "ms",
                       None, reference[name]),
                figure(f"dashboard.{label}.{name}_callback_p95", _percentile(times, 0.95), "ms",
                       budget, reference[name]),
                figure(f"dashboard.{label}.{name}_response_size", size / 1024, "KiB"),
            ]
        # Four leaders' screens asking at once (warm): each thread its own session.
        times = []

        def screen(_):
            own = DashClient(base)
            out = []
            for i in range(WARMUP + RUNS // 2):
                status, _body, seconds = own.post_callback(calls["overview"])
                if status != 200:
                    raise RuntimeError(f"overview 回调返回 HTTP {status}")
                if i >= WARMUP:
                    out.append(seconds * 1000)
            return out
        with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as pool:
            for out in pool.map(screen, range(CONCURRENT)):
                times += out
        figures.append(figure(f"dashboard.{label}.overview_callback_p95_{CONCURRENT}_concurrent",
                              _percentile(times, 0.95), "ms", CONCURRENT_BUDGET_MS.get(label),
                              reference["overview"]))
        # First views: each request asks a period the server has not computed yet, so the
        # metrics memo cannot answer it (what a leader sees on the first click of a new view);
        # each page gets its own periods, so no page profits from another's answers.
        j = view["jurisdiction"]
        pages = {"overview": ("/", ""), "indicator": ("/indicator", f"&indicator={view['indicator']}"),
                 "district": ("/district", f"&region={view['district']}")}
        first_budget = FIRST_VIEW_BUDGET_MS.get(label)
        for k, (name, (path, extra)) in enumerate(pages.items()):
            times = []
            for period in view["other_periods"][k::len(pages)][:FIRST_VIEWS]:
                payload = router_payload(path, f"?jurisdiction={j}&period={period}{extra}")
                status, _body, seconds = client.post_callback(payload)
                if status != 200:
                    raise RuntimeError(f"{name} 回调返回 HTTP {status}")
                times.append(seconds * 1000)
            if times:
                figures += [
                    figure(f"dashboard.{label}.{name}_first_view_p50", statistics.median(times), "ms",
                           None, reference.get(name)),
                    figure(f"dashboard.{label}.{name}_first_view_p95", _percentile(times, 0.95), "ms",
                           first_budget, reference.get(name)),
                ]
    return figures


if __name__ == "__main__":
    import sys
    for f in run(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "city"):
        print(f)
