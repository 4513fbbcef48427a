"""Real Chromium against a real `python app.py` (tests/webserver.py): a driver, logging in, waiting
for text, the three screen sizes of issue 15."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from webserver import PASSWORD

SIZES = {"1920": (1920, 1080), "1366": (1366, 768), "390": (390, 844)}


def chromium(download_dir: Path | None = None):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1920,1080", "--lang=zh-CN"):
        opts.add_argument(flag)
    if download_dir is not None:
        opts.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                               "download.prompt_for_download": False})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    if download_dir is not None:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow",
                                                            "downloadPath": str(download_dir)})
    return driver


def viewport(driver, size: str) -> None:
    w, h = SIZES[size]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": w, "height": h, "deviceScaleFactor": 1, "mobile": size == "390"})


def wait(driver, css: str, text: str | None = None, timeout: float = 60, visible: bool = True):
    """The first element matching `css` (containing `text`), visible unless told otherwise."""
    from selenium.webdriver.common.by import By
    deadline = time.time() + timeout
    while time.time() < deadline:
        for el in driver.find_elements(By.CSS_SELECTOR, css):
            try:
                if (text is None or text in el.text) and (not visible or el.is_displayed()):
                    return el
            except Exception:              # re-rendered while we looked
                pass
        time.sleep(0.2)
    body = driver.find_element(By.TAG_NAME, "body").text[:800]
    raise AssertionError(f"{css} with {text!r} did not appear; page: {body}")


def settled(driver, timeout: float = 30) -> None:
    """Dash has no callback in flight."""
    from selenium.webdriver.support.ui import WebDriverWait
    time.sleep(0.3)
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(
        "return !document.querySelector('[data-dash-is-loading]')"))


def login(driver, base: str, name: str, password: str = PASSWORD) -> None:
    from selenium.webdriver.common.by import By
    driver.get(base + "/login")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver, "#ybjc-user", name)


def severe_logs(driver, allow: tuple[str, ...] = ()) -> list:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
            and not any(a in e["message"] for a in allow)]
