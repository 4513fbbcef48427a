"""`make bench` = `python -m bench.run`: every speed figure, measured in one run, beside its reference.

Builds, in a temp dir, the city-scale demo warehouse (pipelines.demo.build.build_demo) and the national
dataset (bench.national), then calls every figures function — each in its own Python process,
with a time limit — plus its own: generator time, cold start of `python app.py` to the first page
served, and the server's peak memory at national scale. Prints a table, writes
bench/results.json (a list of {"name", "value", "unit", "budget", "reference_value"}), and exits
1 when a budget is missed or a figures function failed.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
CHILD_TIMEOUT_S = 300
KEYS = ("name", "value", "unit", "budget", "reference_value")


def figure(name: str, value, unit: str, budget=None, reference_value=None) -> dict:
    return {"name": name, "value": None if value is None else round(float(value), 4), "unit": unit,
            "budget": budget, "reference_value": None if reference_value is None else round(float(reference_value), 4)}


# ------------------------------------------------------------------ server processes

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until_served(proc: subprocess.Popen, url: str, timeout: float = 60.0) -> float:
    """Poll `url` until it answers 200; returns the time it took. Raises if the process died."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            log = getattr(proc, "log_path", None)
            out = Path(log).read_text(errors="replace") if log else ""
            raise RuntimeError(f"app.py 退出（代码 {proc.returncode}）：{out[-2000:]}")
        try:
            if http_get(url, timeout=2.0)[0] == 200:
                return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"app.py 在 {timeout} 秒内没有响应 {url}")


@contextlib.contextmanager
def serve_app(db_path, port: int | None = None, threads: int | None = None, env: dict | None = None):
    """Run `python app.py --db db_path` on a free loopback port; yields (proc, base_url, ready_s)."""
    port = port or free_port()
    # The server's output goes to a file: an unread pipe fills up and then blocks the server's
    # logging (and with it every request thread) for good.
    log = tempfile.NamedTemporaryFile(prefix=f"app_{port}_", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--db", str(db_path), "--host", "127.0.0.1",
                             "--port", str(port), *(["--threads", str(threads)] if threads else [])], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "GX_ANALYTICS_ENABLED": "false", **(env or {})})
    log.close()
    proc.log_path = log.name
    base = f"http://127.0.0.1:{port}"
    try:
        ready = wait_until_served(proc, base + "/")
        yield proc, base, ready
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        Path(log.name).unlink(missing_ok=True)


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


# ------------------------------------------------------------------ own figures

def _timed_python(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - start


def cold_start_figures(db_path, runs: int = 3) -> list[dict]:
    """`python app.py` to the first page served vs `python -c "import dash"` (medians)."""
    starts, imports = [], []
    for _ in range(runs):
        imports.append(_timed_python("import dash"))
        with serve_app(db_path) as (_, _, ready):
            starts.append(ready)
    return [figure("app.cold_start_to_first_page", statistics.median(starts), "s", 1.5,
                   statistics.median(imports))]


def _page_paths(base: str) -> list[str]:
    """Pages the app registers (read from the served layout's links), '/' first."""
    import re
    status, body = http_get(base + "/_dash-layout")
    paths = {"/"}
    if status == 200:
        paths |= {p for p in re.findall(r'"href":\s*"(/[^"#?]*)"', body.decode(errors="replace"))
                  if not p.startswith(("/_", "/assets", "/api", "/download"))}
    return sorted(paths, key=lambda p: (p != "/", p))


def peak_memory_figures(db_path, label: str) -> list[dict]:
    """Peak RSS of the server while a real browser visits every page (budget 500 MB)."""
    with serve_app(db_path) as (proc, base, _):
        http_get(base + "/")
        idle = rss_kb(proc.pid)
        driver = _browser()
        try:
            for path in _page_paths(base):
                driver.get(base + path)
                _wait_settled(driver)
        finally:
            driver.quit()
        peak = rss_kb(proc.pid, "VmHWM")
    return [figure(f"server.peak_rss_{label}", peak / 1024, "MB", 500, idle / 1024)]


def _browser():
    from selenium import webdriver
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--no-first-run", "--window-size=1920,1080"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options)


def _wait_settled(driver, timeout: float = 30.0) -> None:
    """Wait until Dash has no callback in flight (and the page has rendered something)."""
    start = time.perf_counter()
    time.sleep(0.3)
    while time.perf_counter() - start < timeout:
        busy = driver.execute_script(
            "return document.readyState !== 'complete' || "
            "document.querySelector('[data-dash-is-loading=\"true\"]') !== null || "
            "document.querySelector('#react-entry-point') === null || "
            "document.querySelector('#react-entry-point').children.length === 0")
        if not busy:
            return
        time.sleep(0.1)


def generator_figures(out: Path) -> tuple[list[dict], dict]:
    """Build the national dataset; reference: DuckDB writing as many plain rows to a new file."""
    import duckdb

    from bench.national import build_national
    stats = build_national(out)
    ref_path = out.parent / "yardstick.duckdb"
    start = time.perf_counter()
    con = duckdb.connect(str(ref_path))
    con.execute(f"CREATE TABLE t AS SELECT i AS id, random() AS x, (i % 2844)::VARCHAR AS code "
                f"FROM range({stats['values']}) r(i)")
    con.execute("CHECKPOINT")
    con.close()
    ref = time.perf_counter() - start
    ref_path.unlink()
    return [figure("national.generate", stats["seconds"], "s", 60, ref),
            figure("national.figures_rebuild", stats.get("figures_seconds"), "s", None, stats["seconds"]),
            figure("national.values", stats["values"], "个"),
            figure("national.file_size", stats["bytes"] / 2**20, "MB")], stats


def build_city_demo(db_path: Path, raw_dir: Path) -> list[dict]:
    """The city-scale demo warehouse through pipelines.demo.build.build_demo (real .xlsx, real ingest)."""
    from pipelines.demo.build import build_demo
    stats = build_demo(db_path, raw_dir=raw_dir)
    return [figure("demo.build_city", stats["seconds"], "s"),
            figure("demo.files", stats["files"], "个")]


# ------------------------------------------------------------------ figures functions of the others

def run_child(module: str, kwargs: dict, timeout: float = CHILD_TIMEOUT_S) -> tuple[list[dict], str | None]:
    """Call `module.run(**kwargs)` in a fresh interpreter; returns (figures, error)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    try:
        proc = subprocess.run([sys.executable, "-m", "bench.run", "--child", module, "--kwargs",
                               json.dumps(kwargs), "--child-out", str(out)], cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout, env={**os.environ, "GX_ANALYTICS_ENABLED": "false"})
        if proc.returncode != 0:
            return [], f"{module} 失败（退出代码 {proc.returncode}）：{(proc.stderr or proc.stdout)[-1500:]}"
        figures = json.loads(out.read_text())
        bad = [f for f in figures if not isinstance(f, dict) or set(f) < set(KEYS)]
        if bad:
            return [], f"{module} 返回的指标格式不对（需要 {KEYS}）：{bad[:2]}"
        return [{k: f[k] for k in KEYS} for f in figures], None
    except subprocess.TimeoutExpired:
        return [], f"{module} 超过 {timeout} 秒未完成"
    finally:
        out.unlink(missing_ok=True)


def _child_main(module: str, kwargs: dict, out: str) -> int:
    figures = importlib.import_module(module).run(**kwargs)
    Path(out).write_text(json.dumps(list(figures), ensure_ascii=False, default=float))
    return 0


# ------------------------------------------------------------------ report

def misses(figures: list[dict]) -> list[dict]:
    return [f for f in figures if f["budget"] is not None and f["value"] is not None and f["value"] > f["budget"]]


def table(figures: list[dict]) -> str:
    lines = [f"{'指标':<56}{'数值':>12} {'单位':<5}{'预算':>10}{'参照':>12}{'倍数':>8}  结论"]
    for f in figures:
        ratio = (f["value"] / f["reference_value"]) if f["value"] and f["reference_value"] else None
        verdict = "" if f["budget"] is None or f["value"] is None else (
            "✗ 超出预算" if f["value"] > f["budget"] else "✓")
        fmt = (lambda v: "—" if v is None else f"{v:,.3f}" if abs(v) < 100 else f"{v:,.0f}")
        lines.append(f"{f['name']:<56}{fmt(f['value']):>12} {f['unit']:<5}{fmt(f['budget']):>10}"
                     f"{fmt(f['reference_value']):>12}{'' if ratio is None else f'{ratio:.2f}×':>8}  {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run", description="性能基准（make bench）")
    p.add_argument("--child")
    p.add_argument("--kwargs", default="{}")
    p.add_argument("--child-out")
    p.add_argument("--out", default=str(RESULTS), help="结果文件（默认 bench/results.json）")
    p.add_argument("--keep", action="store_true", help="保留临时目录中的数据仓库")
    args = p.parse_args(argv)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    if args.child:
        return _child_main(args.child, json.loads(args.kwargs), args.child_out)

    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="ybjc_bench_"))
    figures: list[dict] = []
    errors: list[str] = []

    def step(title: str, fn):
        print(f"… {title}", flush=True)
        t0 = time.perf_counter()
        try:
            got = fn()
        except Exception as exc:  # one failing part must not hide the other figures
            errors.append(f"{title}：{type(exc).__name__}: {exc}")
            print(f"  ✗ {title} 失败：{exc}", flush=True)
            return None
        print(f"  {title} 完成（{time.perf_counter() - t0:.1f} 秒）", flush=True)
        return got

    try:
        city, national = tmp / "city.duckdb", tmp / "national.duckdb"
        got = step("生成全国规模数据", lambda: generator_figures(national))
        if got:
            figures += got[0]
        got = step("生成城市规模示例数据", lambda: build_city_demo(city, tmp / "raw"))
        figures += got or []
        children = [("bench.ingest_bench", {}),
                    ("bench.metrics_bench", {"national_db_path": str(national)}),
                    ("bench.dashboard_bench", {"db_path": str(city), "label": "city"}),
                    ("bench.dashboard_bench", {"db_path": str(national), "label": "national"}),
                    ("bench.bulletin_bench", {"db_path": str(city)})]
        for module, kwargs in children:
            if "db_path" in kwargs and not Path(kwargs["db_path"]).exists():
                errors.append(f"{module}：缺少数据仓库 {kwargs['db_path']}，未运行")
                continue
            got, err = step(f"{module} {kwargs.get('label', '')}".strip(), lambda: run_child(module, kwargs)) \
                or ([], None)
            figures += got
            if err:
                errors.append(err)
                print(f"  ✗ {err}", flush=True)
        if city.exists():
            figures += step("冷启动 app.py", lambda: cold_start_figures(city)) or []
        if national.exists():
            figures += step("全国规模服务进程内存峰值", lambda: peak_memory_figures(national, "national")) or []
    finally:
        if args.keep:
            print(f"临时目录保留在 {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    Path(args.out).write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print()
    print(table(figures))
    print(f"\n共 {len(figures)} 项，用时 {time.perf_counter() - started:.0f} 秒；结果已写入 {args.out}")
    missed = misses(figures)
    for f in missed:
        print(f"✗ 超出预算：{f['name']} = {f['value']} {f['unit']}（预算 {f['budget']} {f['unit']}）")
    for e in errors:
        print(f"✗ 未能测量：{e}")
    return 1 if missed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
