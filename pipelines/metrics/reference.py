"""Reference views of the Metrics API: regions, indicators, periods, provenance, returns, targets.

Functions take the `Metrics` object (connection + as_of) and return DataFrames; the SQL is
here because it is about the warehouse's reference data, not about indicator values.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from ..db import first_row
from ..periods import Period, due_date, month, quarter, year

_VALUE_IN_FORCE = "v.loaded_at <= $T AND (v.superseded_at IS NULL OR v.superseded_at > $T)"
_TARGET_IN_FORCE = "t.valid_from <= $T AND (t.valid_to IS NULL OR t.valid_to > $T)"
FREQUENCY_TYPES = {"月度": "M", "季度": "Q", "年度": "Y"}


def jurisdictions(m) -> pd.DataFrame:
    return m._frame("SELECT code, name FROM regions WHERE parent_code IS NULL AND active "
                    "ORDER BY sort_order", {})


def regions(m, root: str) -> pd.DataFrame:
    code = resolve_region(m, root)
    return m._frame("""
        WITH RECURSIVE tree(code) AS (
            SELECT code FROM regions WHERE code = $root
            UNION ALL
            SELECT r.code FROM regions r JOIN tree t ON r.parent_code = t.code WHERE r.active)
        SELECT r.code, r.name, r.parent_code, r.depth, r.sort_order, r.level
        FROM regions r JOIN tree USING (code) ORDER BY r.sort_order""", {"root": code})


def resolve_region(m, text) -> str:
    """A region code, name or alias → its code (catalog/names.py: ResolveError, a ValueError
    with the Chinese message, if unknown or ambiguous)."""
    return m.region_names().resolve(text)


def indicators(m, jurisdiction: str | None = None) -> pd.DataFrame:
    """Indicators with has_target / has_data; for a jurisdiction only those relevant to it
    (a target in force there, data there, or a line of who-reports-what), with `reported_by`
    (units | self | every_level, reporting.py)."""
    jur = resolve_region(m, jurisdiction) if jurisdiction is not None else None
    frame = m._frame(f"""
        WITH tg AS (
            SELECT DISTINCT t.indicator_code FROM targets t JOIN regions r ON r.code = t.region_code
            WHERE {_TARGET_IN_FORCE} AND ($jur IS NULL OR r.jurisdiction_code = $jur)),
        dt AS (
            SELECT DISTINCT v.indicator_code FROM return_values v
            JOIN regions r ON r.code = v.region_code
            WHERE {_VALUE_IN_FORCE} AND ($jur IS NULL OR r.jurisdiction_code = $jur)),
        rp AS (
            SELECT DISTINCT indicator_code FROM reporting WHERE jurisdiction_code = $jur)
        SELECT i.code, i.name, i.unit, i.kind, i.frequency, i.aggregation, i.direction, i.scale,
               i.tolerance, i.is_share, i.numerator_label, i.denominator_label, i.sort_order,
               tg.indicator_code IS NOT NULL AS has_target,
               dt.indicator_code IS NOT NULL AS has_data
        FROM indicators i
        LEFT JOIN tg ON tg.indicator_code = i.code LEFT JOIN dt ON dt.indicator_code = i.code
        LEFT JOIN rp ON rp.indicator_code = i.code
        WHERE $jur IS NULL OR tg.indicator_code IS NOT NULL OR dt.indicator_code IS NOT NULL
              OR rp.indicator_code IS NOT NULL
        ORDER BY i.sort_order""", {"T": m._t, "jur": jur})
    rep = m.reporting()
    frame["reported_by"] = [rep.mode(jur, c) if jur else None for c in frame["code"]]
    return frame


def periods(m, jurisdiction: str, type: str = "Q") -> list[str]:  # noqa: A002
    """Codes of the periods of type M/Q/Y that have data in the jurisdiction, ascending."""
    if type not in ("M", "Q", "Y"):
        raise ValueError(f"期间类型“{type}”无效：应为 M、Q 或 Y")
    jur = resolve_region(m, jurisdiction)
    spans = m.con.execute(f"""
        SELECT DISTINCT v.year, v.period_type, v.month_from, v.month_to FROM return_values v
        JOIN regions r ON r.code = v.region_code
        WHERE r.jurisdiction_code = $jur AND {_VALUE_IN_FORCE}""",
                          {"jur": jur, "T": m._t}).fetchall()
    out: set[Period] = set()
    for y, ptype, m_from, m_to in spans:
        if type == "Y":
            out.add(year(y))
        elif type == "Q" and ptype in ("M", "Q"):
            out.add(quarter(y, (m_to - 1) // 3 + 1))
        elif type == "M" and ptype == "M":
            out.add(month(y, m_from))
    return [p.code for p in sorted(out)]


def data_as_of(m, jurisdiction: str | None = None) -> dt.datetime | None:
    jur = resolve_region(m, jurisdiction) if jurisdiction is not None else None
    row = first_row(m.con.execute(f"""
        SELECT max(v.loaded_at) FROM return_values v JOIN regions r ON r.code = v.region_code
        WHERE {_VALUE_IN_FORCE} AND ($jur IS NULL OR r.jurisdiction_code = $jur)""",
                        {"T": m._t, "jur": jur}))
    return row[0] if row else None


def provenance(m, region: str, indicator: str, p: Period, basis: str = "period") -> pd.DataFrame:
    """Every value (revisions included) behind a region's figure for view period p.

    The figure is the indicator's figure period for p (cycle.figure_period) over the window the
    row was judged on (`basis` = the row's judged_on: period or ytd); its values are those of
    the regions that owe the figure — the region itself, or the units its roll-up sums.
    """
    from .cycle import figure_period
    code = resolve_region(m, region)
    ind = first_row(m.con.execute("SELECT frequency, aggregation FROM indicators WHERE code = ?",
                        [indicator]))
    fp = figure_period(p, ind[0]) if ind else None
    rep = m.reporting()
    owing = [code] if rep.owes(code, indicator) else rep.owing_below(code, indicator)
    if fp is None or not owing:
        owing, fp = [], p
    start = 1 if basis == "ytd" and ind and ind[1] == "flow" else fp.month_from
    return m._frame(f"""
        SELECT v.value_id, v.region_code, r.name AS region_name, v.indicator_code, v.period,
               v.numerator, v.denominator, l.file_name, l.sheet, l.row_number, l.numerator_cell,
               l.denominator_cell, s.uploaded_by, s.channel, s.uploaded_at, v.submission_id,
               v.loaded_at, v.superseded_at, {_VALUE_IN_FORCE} AS is_current
        FROM return_values v
        JOIN regions r ON r.code = v.region_code
        JOIN indicators i ON i.code = v.indicator_code
        LEFT JOIN value_lineage l ON l.value_id = v.value_id
        LEFT JOIN submissions s ON s.submission_id = v.submission_id
        WHERE v.region_code IN (SELECT unnest($owing::VARCHAR[]))
          AND v.indicator_code = $ind AND v.year = $year AND v.month_to BETWEEN $from AND $to
          AND (i.aggregation = 'stock' OR v.month_from >= $from)
          AND v.loaded_at <= $T
        ORDER BY r.sort_order, v.month_from, v.loaded_at""",
                    {"owing": owing, "ind": indicator, "year": fp.year, "from": start,
                     "to": fp.month_to, "T": m._t})


def _due_date(p: Period, due_day: int) -> dt.date:
    """Returns are due on due_day of the month after the period (periods.due_date)."""
    return due_date(p, due_day)


def owing_returns(m, jurisdiction: str, frequency: str) -> list[str]:
    """The regions that owe a return at `frequency` (who reports what: reporting.py), in tree
    order: every region that reports itself an indicator of that frequency relevant to the
    jurisdiction."""
    if frequency not in FREQUENCY_TYPES:
        raise ValueError(f"报送频度“{frequency}”无效：应为 月度、季度 或 年度")
    jur = resolve_region(m, jurisdiction)
    inds = m.indicators(jur)           # memoised with the answer cache
    owed_inds = list(inds.loc[inds["frequency"] == frequency, "code"])
    rep = m.reporting()
    return sorted({c for i in owed_inds for c in rep.owed_in(jur, i)},
                  key=lambda c: rep.tree.sort_order.get(c, 0))


def submission_status(m, jurisdiction: str, yr: int, frequency: str = "月度") -> pd.DataFrame:
    """Per region that owes a return at `frequency` and period of the year: was it in on time?

    Who owes follows who reports what (reporting.py): the units for the indicators they report,
    the jurisdiction itself for those its bureau reports, everyone for those owed at every
    level. status: 按时 (first upload by the due date) | 逾期 (later) | 已更正 (on time, later
    revised) | 未报送 (due, nothing) | 未到期 (not due yet, nothing). A region that owes
    nothing at `frequency` is not listed, unless it sent something anyway.
    """
    jur = resolve_region(m, jurisdiction)
    owing = owing_returns(m, jur, frequency)
    ptype = FREQUENCY_TYPES[frequency]
    plist = {"M": [month(yr, i) for i in range(1, 13)], "Q": [quarter(yr, q) for q in range(1, 5)],
             "Y": [year(yr)]}[ptype]
    due_day = int(m.con.execute("SELECT value FROM settings WHERE key = ?",
                                [f"due_day.{frequency}"]).fetchall()[0][0])
    due = {p.code: _due_date(p, due_day) for p in plist}
    frame = m._frame("""
        WITH owing AS (SELECT unnest($owing::VARCHAR[]) AS code),
        per AS (SELECT unnest($periods::VARCHAR[]) AS period, unnest($due::DATE[]) AS due_date),
        got AS (
            SELECT v.region_code, v.period, min(v.loaded_at) AS first_uploaded_at,
                   max(v.loaded_at) AS last_uploaded_at,
                   count(DISTINCT v.submission_id) AS submissions,
                   bool_or(v.superseded_at IS NOT NULL AND v.superseded_at <= $T) AS revised
            FROM return_values v JOIN regions r ON r.code = v.region_code
            WHERE v.period_type = $ptype AND v.year = $yr AND v.loaded_at <= $T
              AND r.jurisdiction_code = $jur
            GROUP BY ALL),
        listed AS (
            SELECT code FROM owing
            UNION SELECT DISTINCT region_code FROM got)
        SELECT r.code AS region_code, r.name AS region_name, p.period, p.due_date,
               CASE WHEN g.first_uploaded_at IS NULL AND p.due_date < $today THEN '未报送'
                    WHEN g.first_uploaded_at IS NULL THEN '未到期'
                    WHEN g.first_uploaded_at::DATE > p.due_date THEN '逾期'
                    WHEN g.revised THEN '已更正'
                    ELSE '按时' END AS status,
               g.first_uploaded_at, g.last_uploaded_at, coalesce(g.submissions, 0) AS submissions
        FROM listed l JOIN regions r ON r.code = l.code AND r.active CROSS JOIN per p
        LEFT JOIN got g ON g.region_code = l.code AND g.period = p.period
        WHERE l.code IN (SELECT code FROM owing) OR g.first_uploaded_at IS NOT NULL
        ORDER BY p.period, r.sort_order""",
                     {"jur": jur, "owing": owing, "periods": list(due), "due": list(due.values()),
                      "ptype": ptype, "yr": yr, "T": m._t,
                      "today": (m.as_of or dt.datetime.now()).date()})
    return frame


def targets_table(m, jurisdiction: str) -> pd.DataFrame:
    jur = resolve_region(m, jurisdiction)
    return m._frame(f"""
        SELECT t.plan_code, p.title AS plan_title, p.doc_number, t.indicator_code,
               i.name AS indicator_name, i.unit, t.region_code, r.name AS region_name, t.tier,
               t.comparator, t.value, t.timing, t.year_from, t.deadline, t.effective, t.basis,
               t.clause, t.text, t.valid_from
        FROM targets t JOIN regions r ON r.code = t.region_code
        JOIN indicators i ON i.code = t.indicator_code
        LEFT JOIN plans p ON p.code = t.plan_code
        WHERE r.jurisdiction_code = $jur AND {_TARGET_IN_FORCE}
        ORDER BY t.plan_code, i.sort_order, r.sort_order, t.tier, t.year_from, t.effective""",
                    {"jur": jur, "T": m._t})


def reporting_table(m, jurisdiction: str) -> pd.DataFrame:
    """Who reports each indicator relevant to the jurisdiction, with the plan's reason."""
    jur = resolve_region(m, jurisdiction)
    inds = m.indicators(jur)           # memoised with the answer cache
    rep = m.reporting()
    lines = m._frame("SELECT indicator_code, reported_by, reason FROM reporting "
                     "WHERE jurisdiction_code = $jur", {"jur": jur}).set_index("indicator_code")
    rows = []
    for code, name in zip(inds["code"], inds["name"]):
        by = rep.mode(jur, code)
        rows.append({"indicator_code": code, "indicator_name": name, "reported_by": by,
                     "reason": lines["reason"].get(code) if code in lines.index else None,
                     "owing": len(rep.owed_in(jur, code))})
    return pd.DataFrame(rows, columns=["indicator_code", "indicator_name", "reported_by", "reason",
                                       "owing"])


def unreviewed_submissions(m, region: str, periods=None) -> pd.DataFrame:
    """Accepted submissions of `region` and below, uploaded by `as_of`, not approved then:
    待审核 (no decision yet) or 退回 (returned and not answered by a correction yet).
    `periods`: only those touching one of these period codes. Oldest first."""
    code = resolve_region(m, region)
    below = sorted(m.regions(code)["code"]) if code in set(m.jurisdictions()["code"]) else None
    if below is None:
        from ..db import subtree
        below = sorted(subtree(m.con, code))
    return m._frame("""
        SELECT s.submission_id, s.file_name, s.uploaded_by, s.uploaded_at, s.regions, s.periods,
               (SELECT string_agg(g.name, '、' ORDER BY g.sort_order) FROM regions g
                WHERE list_contains(s.regions, g.code)) AS region_names,
               CASE WHEN r.decision = 'returned' AND r.decided_at <= $T THEN '退回' ELSE '待审核' END AS state,
               CASE WHEN r.decided_at <= $T THEN r.comment END AS comment
        FROM submissions s LEFT JOIN submission_reviews r USING (submission_id)
        WHERE s.status = 'accepted' AND s.uploaded_at <= $T
          AND (r.decision IS NULL OR r.decided_at > $T OR r.decision = 'returned')
          AND NOT EXISTS (SELECT 1 FROM submission_corrections c JOIN submissions n
                          ON n.submission_id = c.submission_id
                          WHERE c.corrects_id = s.submission_id AND n.uploaded_at <= $T)
          AND len(list_intersect(s.regions, $below::VARCHAR[])) > 0
          AND ($periods::VARCHAR[] IS NULL OR len(list_intersect(s.periods, $periods::VARCHAR[])) > 0)
        ORDER BY s.uploaded_at, s.submission_id""",
                    {"T": m._t, "below": below, "periods": None if periods is None else list(periods)})


def review_states(m, jurisdiction: str, yr: int) -> pd.DataFrame:
    """The submissions of the jurisdiction for a year whose review the 报送 page shows: those not
    approved at `as_of` (待审核 / 退回) and the corrections of returned ones, newest first.
    state: 待审核 | 通过 | 退回; corrects_id: the returned submission a correction answers."""
    jur = resolve_region(m, jurisdiction)
    return m._frame("""
        SELECT s.submission_id, s.file_name, s.uploaded_by, s.uploaded_at,
               (SELECT string_agg(g.name, '、' ORDER BY g.sort_order) FROM regions g
                WHERE list_contains(s.regions, g.code)) AS region_names,
               array_to_string(s.periods, '、') AS periods,
               CASE WHEN r.decided_at IS NULL OR r.decided_at > $T THEN '待审核'
                    WHEN r.decision = 'approved' THEN '通过' ELSE '退回' END AS state,
               CASE WHEN r.decided_at <= $T THEN r.reviewer END AS reviewer,
               CASE WHEN r.decided_at <= $T THEN r.comment END AS comment,
               c.corrects_id
        FROM submissions s LEFT JOIN submission_reviews r USING (submission_id)
        LEFT JOIN submission_corrections c ON c.submission_id = s.submission_id
        WHERE s.status = 'accepted' AND s.uploaded_at <= $T
          AND list_has_any(s.regions, (SELECT list(code) FROM regions WHERE jurisdiction_code = $jur))
          AND len(list_filter(s.periods, lambda x: x[1:4] = $yr::VARCHAR)) > 0
          AND (r.decided_at IS NULL OR r.decided_at > $T OR r.decision = 'returned' OR c.corrects_id IS NOT NULL)
        ORDER BY s.uploaded_at DESC, s.submission_id DESC""", {"T": m._t, "jur": jur, "yr": int(yr)})
