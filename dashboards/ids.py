"""Every component ID of the dashboard, in one place (tests and callbacks import them)."""
from __future__ import annotations

# App shell (always in the layout).
NAV = "nav"                              # navigation bar (follows the URL)
SHELL_RENDER = "shell-render"            # routing State: tells page layouts they are being routed
SHELL_CONNECTION = "shell-connection"    # banner shown while the server does not answer
SHELL_ALIVE_TICK = "shell-alive-tick"    # dcc.Interval: the browser asks ALIVE_PATH
ALIVE_PATH = "/_alive"                   # 204 from a running server (PATH_RULES: public)
PROV_STORE = "prov-store"                # request for the provenance panel {region, indicator, ...}
PROV_MODAL = "prov-modal"
PROV_BODY = "prov-body"
PROV_CLOSE = "prov-close"
PROV_BUTTON = "prov-btn"                 # pattern-matching type: {"type": PROV_BUTTON, "key": ...}

URL_NOTICE = "url-notice"                # on a page whose URL parameters were corrected

# Controls shared by page headers (each page has its own instance; the prefix keeps IDs unique).
def control(page: str, name: str) -> str:
    """ID of a header control on one page, e.g. control("overview", "period")."""
    return f"{page}-{name}"


CONTROL_NAMES = ("jurisdiction", "year", "period", "basis")
PAGE_URL = "url"                         # suffix: control(page, PAGE_URL) is the page's dcc.Location

# 总览
OVERVIEW = "overview"
OVERVIEW_HEADLINE = "overview-headline"
OVERVIEW_CARDS = "overview-cards"
OVERVIEW_HEATMAP = "overview-heatmap"
OVERVIEW_NOT_DUE = "overview-not-due"
OVERVIEW_SLIDES = "overview-slides"      # meeting mode: the slide links
OVERVIEW_ADVANCE = "overview-advance"    # dcc.Interval walking the slides (advance=)

# 指标
INDICATOR = "indicator"
INDICATOR_PICK = "indicator-pick"
INDICATOR_REGIONS = "indicator-regions"
INDICATOR_RANKING = "indicator-ranking"
INDICATOR_TREND = "indicator-trend"
INDICATOR_TABLE = "indicator-table"
INDICATOR_EXPORT = "indicator-export"
INDICATOR_DOWNLOAD = "indicator-download"
INDICATOR_ADVANCE = "indicator-advance"  # dcc.Interval of meeting mode

# 地区
DISTRICT = "district"
DISTRICT_PICK = "district-pick"
DISTRICT_TRENDS = "district-trends"
DISTRICT_GAPS = "district-gaps"
DISTRICT_HISTORY = "district-history"
DISTRICT_PROVENANCE = "district-provenance"

# 报送
SUBMISSIONS = "submissions"
SUBMISSIONS_FREQUENCY = "submissions-frequency"
SUBMISSIONS_MATRIX = "submissions-matrix"
SUBMISSIONS_CHASE = "submissions-chase"
SUBMISSIONS_EXPORT = "submissions-export"
SUBMISSIONS_DOWNLOAD = "submissions-download"
SUBMISSIONS_RATE = "submissions-rate"
SUBMISSIONS_RATE_CHART = "submissions-rate-chart"
SUBMISSIONS_RATE_TABLE = "submissions-rate-table"
SUBMISSIONS_NOTICE = "submissions-notice"
SUBMISSIONS_NOTICE_DOWNLOAD = "submissions-notice-download"

# 目标
TARGETS = "targets"
TARGETS_TABLE = "targets-table"
