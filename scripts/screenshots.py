"""Screenshots of every page at the three sizes of issue 15 (1920×1080, 1366×768, 390×844), so
anyone can look at what the pages show: `make screenshots` (or `python scripts/screenshots.py
[--db WAREHOUSE] [--out DIR]`).

Without --db the demo warehouse is built once under <out>/_demo/ and reused. The warehouse is
copied first (an admin account for the screenshots is added to the copy only), a real
`python app.py` serves the copy, Debian's Chromium (headless) logs in and shoots each page.
Files: <out>/<page>_<size>.png; <out>/index.txt lists them with their addresses.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"1920x1080": (1920, 1080), "1366x768": (1366, 768), "390x844": (390, 844)}
JURISDICTION = "331081"          # 温岭市: 16 镇街 × 12 indicators, the meeting screen's test case
ADMIN = "截图管理员"

# (name, address, CSS selector that says the page is there)
PAGES = [
    ("overview", f"/?jurisdiction={JURISDICTION}", "#overview-heatmap"),
    ("meeting_grid", f"/?jurisdiction={JURISDICTION}&mode=meeting", "#overview-heatmap"),
    ("meeting_cards", f"/?jurisdiction={JURISDICTION}&mode=meeting&slide=cards", "#overview-cards"),
    ("indicator", f"/indicator?jurisdiction={JURISDICTION}", "#indicator-ranking"),
    ("indicator_meeting", f"/indicator?jurisdiction={JURISDICTION}&mode=meeting", "#indicator-ranking"),
    ("district", f"/district?jurisdiction={JURISDICTION}", "#district-trends"),
    ("submissions", f"/submissions?jurisdiction={JURISDICTION}", "#submissions-matrix"),
    ("targets", f"/targets?jurisdiction={JURISDICTION}", "#targets-table"),
    ("upload", "/upload", "#upload-file"),
    ("review", "/review", "#review-queue"),
    ("admin_users", "/admin?section=users", "#admin-users"),
    ("admin_targets", "/admin?section=targets", "#admin-targets"),
    ("admin_audit", "/admin?section=audit-log", "#admin-audit-table"),
    ("admin_bulletin", "/admin?section=bulletin", "#admin-bulletin"),
    ("admin_unlock", "/admin?section=unlock", "#admin-unlock"),
    ("not_found", "/no-such-page", "#not-found-title"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_warehouse(out: Path) -> Path:
    """The demo warehouse under <out>/_demo/, built the first time."""
    path = out / "_demo" / "warehouse.duckdb"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print("正在生成示例数据仓库（约 1 分钟）……", flush=True)
        from pipelines.demo.build import build_demo
        build_demo(path)
    return path


def add_admin(db_path: Path) -> str:
    from pipelines import db
    from pipelines.accounts import users as accounts
    password = secrets.token_urlsafe(12)
    con = db.connect(db_path)
    try:
        accounts.add_user(con, ADMIN, "admin", password)
    finally:
        con.close()
    return password


class Server:
    """`python app.py` on a free port, on `db_path`."""

    def __init__(self, db_path: Path):
        self.db_path, self.port = db_path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        import requests
        self.log = open(self.db_path.parent / "server.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "app.py", "--db", str(self.db_path), "--port", str(self.port)], cwd=ROOT,
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "GX_ANALYTICS_ENABLED": "false"})
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("看板服务未能启动：" + (self.db_path.parent / "server.log").read_text())
            try:
                if requests.get(self.url + "/login", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError("看板服务 90 秒内未启动")

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1920,1080", "--lang=zh-CN", "--hide-scrollbars"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


def set_size(driver, size: str) -> None:
    w, h = SIZES[size]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": w, "height": h, "deviceScaleFactor": 1, "mobile": w < 700})


def login(driver, base: str, name: str, password: str) -> None:
    from selenium.webdriver.common.by import By
    driver.get(base + "/login")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    wait_for(driver, "#ybjc-user")


def wait_for(driver, css: str, timeout: float = 60) -> None:
    """The element is there and Dash has no callback in flight."""
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(
        "return !!document.querySelector(arguments[0]) && !document.querySelector('[data-dash-is-loading]')",
        css))
    time.sleep(0.6)                      # plotly's resize and fonts settle


def open_page(driver, base: str, path: str, ready: str) -> None:
    driver.get(base + path)
    wait_for(driver, ready)


def shoot(out: Path, db_path: Path, sizes=tuple(SIZES)) -> list[Path]:
    from selenium.common.exceptions import TimeoutException
    out.mkdir(parents=True, exist_ok=True)
    written, problems = [], []
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        copy = Path(tmp) / "warehouse.duckdb"
        shutil.copy(db_path, copy)
        password = add_admin(copy)
        with Server(copy) as srv:
            driver = chromium()
            try:
                for size in sizes:
                    set_size(driver, size)
                    driver.delete_all_cookies()
                    driver.get(srv.url + "/login")
                    wait_for(driver, "#login-form")
                    driver.save_screenshot(str(out / f"login_{size}.png"))
                    written.append(out / f"login_{size}.png")
                    login(driver, srv.url, ADMIN, password)
                    for name, path, ready in PAGES:
                        target = out / f"{name}_{size}.png"
                        try:
                            open_page(driver, srv.url, path, ready)
                        except TimeoutException:       # shoot what is there, and say so
                            print(f"警告：{path} 在 60 秒内未显示 {ready}（截图为当时的页面）", file=sys.stderr)
                            problems.append(target.name)
                        driver.save_screenshot(str(target))
                        written.append(target)
            finally:
                driver.quit()
    lines = [p.name + ("（页面未完整显示）" if p.name in problems else "") for p in written]
    (out / "index.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="各页面在三种屏幕尺寸下的截图")
    parser.add_argument("--db", help="数据仓库文件（默认：生成示例数据仓库）")
    parser.add_argument("--out", default=str(ROOT / "artifacts" / "screenshots"), help="截图目录")
    args = parser.parse_args(argv)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    out = Path(args.out)
    db_path = Path(args.db) if args.db else demo_warehouse(out)
    if not db_path.exists():
        print(f"错误：数据仓库 {db_path} 不存在", file=sys.stderr)
        return 2
    written = shoot(out, db_path)
    print(f"已写入 {len(written)} 张截图：{out}")
    return 0


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    sys.exit(main())
