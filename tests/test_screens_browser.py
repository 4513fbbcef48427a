"""The screens in a real Chromium at the three sizes the issue names: the meeting projector
(1920×1080 and 1366×768) and a phone (390×844). Everything is measured in the page.

Data: tests/screen_data.py (温岭市 2024: 16 镇街 × 12 indicators, plus the city's own row).
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard_data import create_app
from screen_data import PERIOD, WENLING, count, load_wenling, rate

pytestmark = pytest.mark.browser
Q = f"?jurisdiction={WENLING}&period={PERIOD}"
SIZES = {"1920": (1920, 1080), "1366": (1366, 768), "390": (390, 844)}


@pytest.fixture(scope="module")
def wenling_db(tmp_path_factory):
    from pipelines import db
    from pipelines.warehouse import init_warehouse
    path = tmp_path_factory.mktemp("screens") / "warehouse.duckdb"
    init_warehouse(path)
    con = db.connect(path)
    info = load_wenling(con)
    con.close()
    return path, info


@pytest.fixture
def dash(dash_duo, wenling_db):
    app = create_app(wenling_db[0])
    dash_duo.start_server(app)
    yield dash_duo, dash_duo.server_url, wenling_db[1]
    dash_duo.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    app.server.config["WAREHOUSE"].close()


def viewport(duo, size: str) -> None:
    """The exact CSS viewport (a phone is emulated as mobile: its meta viewport applies)."""
    w, h = SIZES[size]
    duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": w, "height": h, "deviceScaleFactor": 1, "mobile": size == "390"})


def open_page(duo, url: str, ready: str) -> None:
    duo.driver.get(url)
    duo.wait_for_element(ready, timeout=30)
    WebDriverWait(duo.driver, 20).until(lambda d: d.execute_script(
        "return !document.querySelector('[data-dash-is-loading]')"))


GRID_JS = """
const t = document.querySelector('#overview-heatmap');
const r = t.getBoundingClientRect();
const px = e => parseFloat(getComputedStyle(e).fontSize);
const texts = [...t.querySelectorAll('td.hm-cell span')].filter(e => e.textContent.trim() &&
    getComputedStyle(e).display !== 'none' && !e.querySelector('span'));
const clipped = [...t.querySelectorAll('td.hm-cell')].filter(c => c.scrollHeight > c.clientHeight + 1
    || c.scrollWidth > c.clientWidth + 1).map(c => [c.scrollWidth, c.clientWidth, c.scrollHeight,
    c.clientHeight, c.textContent]);
const head = document.querySelector('#overview-headline');
return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, vw: innerWidth, vh: innerHeight,
        scrollY: scrollY, rows: t.querySelectorAll('tbody tr').length,
        cols: t.querySelectorAll('thead th.hm-col').length,
        cells: t.querySelectorAll('tbody td').length,
        minValue: Math.min(...[...t.querySelectorAll('.hm-value')].map(px)),
        minText: Math.min(...texts.map(px)), clipped: clipped,
        headBottom: head ? head.getBoundingClientRect().bottom : null,
        cards: !!document.querySelector('#overview-cards'),
        account: [...document.querySelectorAll('#ybjc-account, #ybjc-no-users')]
                 .some(e => e.getBoundingClientRect().height > 0)};
"""


@pytest.mark.parametrize("size,min_value,min_text", [("1920", 20, 16), ("1366", 17, 12)])
def test_meeting_grid_is_one_screen(dash, artifacts_dir, size, min_value, min_text):
    duo, base, info = dash
    viewport(duo, size)
    open_page(duo, base + "/" + Q + "&mode=meeting", "#overview-heatmap")
    g = duo.driver.execute_script(GRID_JS)
    duo.driver.save_screenshot(str(artifacts_dir / f"meeting_grid_{size}.png"))
    # 温岭市 itself + its 16 镇街, × the 12 indicators of its plan: 17 × 12 cells.
    assert (g["rows"], g["cols"], g["cells"]) == (17, 12, 17 * 12), g
    # The whole grid inside the first viewport, nothing scrolled, headline counts above it.
    assert g["scrollY"] == 0 and g["top"] >= 0 and g["left"] >= 0, g
    assert g["bottom"] <= g["vh"] and g["right"] <= g["vw"], g
    assert g["headBottom"] is not None and g["headBottom"] <= g["top"], g
    assert not g["cards"] and not g["account"], g        # cards are the next slide; no chrome
    assert g["minValue"] >= min_value and g["minText"] >= min_text, g
    assert g["clipped"] == [], g                          # every cell's text fits its cell
    # A value computed by hand: the 4th 镇街's 结算率 is judged year to date (Σ of 12 equal months).
    num, den = rate(3)
    shown = duo.driver.execute_script(
        "return document.querySelector(arguments[0]).textContent",
        f'#overview-heatmap td[data-region="{info["units"][3]}"][data-indicator="evoucher_settlement_rate"] .hm-value')
    assert shown == f"{100 * num / den:.2f}" == "83.75"
    assert duo.get_logs() == []


def test_meeting_slides_walk_with_advance(dash):
    duo, base, info = dash
    viewport(duo, "1920")
    open_page(duo, base + "/" + Q + "&mode=meeting&advance=5", "#overview-heatmap")
    # advance=5: the KPI cards slide after 5 s, then back to the grid.
    WebDriverWait(duo.driver, 15).until(
        lambda d: parse_qs(urlparse(d.current_url).query).get("slide") == ["cards"])
    duo.wait_for_element("#overview-cards", timeout=20)
    cards = duo.driver.execute_script("return document.querySelectorAll('#overview-cards .kpi-card').length")
    assert cards == 12 and not duo.driver.find_elements("css selector", "#overview-heatmap")
    WebDriverWait(duo.driver, 15).until(
        lambda d: "slide" not in parse_qs(urlparse(d.current_url).query))
    duo.wait_for_element("#overview-heatmap", timeout=20)
    assert parse_qs(urlparse(duo.driver.current_url).query)["advance"] == ["5"]
    assert duo.get_logs() == []


# --- contrast (WCAG 2.x relative luminance, as axe computes it) ------------------------------
COLOURS_JS = """
const rgb = s => (s.match(/rgba?\\([^)]*\\)/g) || []);
function backgrounds(e) {
  for (let n = e; n; n = n.parentElement) {
    const cs = getComputedStyle(n);
    const stops = rgb(cs.backgroundImage);
    if (stops.length) return stops;
    const bg = cs.backgroundColor;
    if (bg && !/rgba\\(0, 0, 0, 0\\)|transparent/.test(bg)) return [bg];
  }
  return ['rgb(255, 255, 255)'];
}
return [...document.querySelectorAll(arguments[0])].filter(e => e.offsetParent !== null &&
    e.textContent.trim()).map(e => {
  const cs = getComputedStyle(e);
  return {what: (e.className || e.tagName) + ' ' + e.textContent.trim().slice(0, 12),
          fg: cs.color, bgs: backgrounds(e), size: parseFloat(cs.fontSize), weight: cs.fontWeight};
});
"""
CHECKED = ".hm-cell .hm-value, .hm-cell .hm-status, .hm-cell .hm-gap, .legend-item, .badge, .slide-link, " \
          ".basis-label, .page-title, .headline-value, .headline-label, .hm-row a, .hm-col a"


def _channel(v: float) -> float:
    v /= 255
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def luminance(css: str) -> float:
    r, g, b = [float(x) for x in re.findall(r"[\d.]+", css)[:3]]
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_helper_matches_known_ratios():
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21.0)
    assert contrast("rgb(119, 119, 119)", "rgb(255, 255, 255)") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("theme", ["light", "meeting"])
def test_status_colours_pass_wcag_aa(dash, theme):
    duo, base, _ = dash
    viewport(duo, "1920")
    open_page(duo, base + "/" + Q + ("&mode=meeting" if theme == "meeting" else ""), "#overview-heatmap")
    items = duo.driver.execute_script(COLOURS_JS, CHECKED)
    statuses = duo.driver.execute_script(
        "return [...new Set([...document.querySelectorAll('.legend-item')].map(e => e.className))]")
    assert len(statuses) == 8                       # every status's colour is checked
    failures = []
    for it in items:
        large = it["size"] >= 24 or (it["size"] >= 18.66 and int(it["weight"]) >= 700)
        need = 3.0 if large else 4.5
        worst = min(contrast(it["fg"], bg) for bg in it["bgs"])
        if worst < need:
            failures.append((it["what"], it["fg"], it["bgs"], round(worst, 2)))
    assert len(items) > 17 * 12 and failures == []


# --- phone ----------------------------------------------------------------------------------
PHONE_PAGES = [
    ("overview", "/" + Q, "#overview-heatmap"),
    ("indicator", f"/indicator{Q}&indicator=evoucher_settlement_rate", "#indicator-ranking .main-svg"),
    ("district", f"/district{Q}", "#district-trends .main-svg"),
    ("submissions", f"/submissions{Q}", "#submissions-matrix"),
    ("targets", f"/targets?jurisdiction={WENLING}", "#targets-table"),
    ("meeting", "/" + Q + "&mode=meeting", "#overview-heatmap"),
]


def test_phone_has_no_sideways_scroll(dash, artifacts_dir):
    duo, base, info = dash
    viewport(duo, "390")
    for name, path, ready in PHONE_PAGES:
        open_page(duo, base + path, ready)
        duo.driver.save_screenshot(str(artifacts_dir / f"phone_{name}.png"))
        wide = duo.driver.execute_script(
            "return [document.scrollingElement.scrollWidth, innerWidth, [...document.querySelectorAll('body *')]"
            ".filter(e => e.getBoundingClientRect().right > 392).slice(0, 6).map(e => e.tagName + '.' + e.className"
            " + '#' + e.id + ':' + Math.round(e.getBoundingClientRect().right))]")
        assert wide[0] <= wide[1] == 390, (name, wide)
    # The overview's grid scrolls inside itself with the region names kept in view.
    open_page(duo, base + "/" + Q, "#overview-heatmap")
    sticky = duo.driver.execute_script("""
        const s = document.querySelector('#overview-heatmap').parentElement;
        s.scrollLeft = 400;
        const name = document.querySelector('#overview-heatmap tbody th.hm-row');
        return [getComputedStyle(name).position, name.getBoundingClientRect().left,
                s.getBoundingClientRect().left, s.scrollLeft,
                parseFloat(getComputedStyle(document.querySelector('.hm-value')).fontSize)];""")
    assert sticky[0] == "sticky" and sticky[3] > 0, sticky
    assert abs(sticky[1] - sticky[2]) <= 3 and sticky[4] >= 16, sticky   # name still at the edge
    assert duo.get_logs() == []


CARDS_JS = """
const cards = [...document.querySelectorAll('#overview-cards .kpi-card')];
const px = e => parseFloat(getComputedStyle(e).fontSize);
return {n: cards.length, bottom: Math.max(...cards.map(c => c.getBoundingClientRect().bottom)),
        right: Math.max(...cards.map(c => c.getBoundingClientRect().right)),
        value: Math.min(...cards.map(c => px(c.querySelector('.kpi-value') || c))),
        vh: window.innerHeight, vw: window.innerWidth,
        scroll: document.documentElement.scrollHeight};
"""


@pytest.mark.parametrize("size", ["1920", "1366", "390"])
def test_meeting_cards_slide_is_one_screen(dash, size, artifacts_dir):
    """The KPI cards slide: all 12 cards inside the first viewport, values still legible; on a
    phone they stack in one column with no sideways scroll."""
    duo, base, info = dash
    viewport(duo, size)
    open_page(duo, base + "/" + Q + "&mode=meeting&slide=cards", "#overview-cards")
    duo.driver.save_screenshot(str(artifacts_dir / f"meeting-cards-{size}.png"))
    g = duo.driver.execute_script(CARDS_JS)
    assert g["n"] == 12, g
    assert g["right"] <= g["vw"] and g["value"] >= 20, g
    if size == "390":
        assert duo.driver.execute_script("return document.documentElement.scrollWidth") <= 390
    else:
        assert g["bottom"] <= g["vh"], g
    assert duo.get_logs() == []
