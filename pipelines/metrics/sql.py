"""The indicator SQL: values in force → figures per owing region and window → roll-ups.

`FIGURES_SQL` computes, for a set of windows (cycle.Window: an indicator, a year and a span of
months) and a set of row regions, each row's figure with what it needs to be judged:
- `vals`: return_values in force at $T, of the (region, indicator) pairs that owe the figure
  ($o_*: who reports what, resolved by the engine) — a value at a region that does not owe
  the indicator (a 全市 row for an indicator the 镇街 report) is never data;
- `kept`: the values a window uses. A flow value counts when it lies inside the window; a
  stock value when it ends inside it (a stock is a level at a month). A coarser return (year >
  quarter > month) hides the finer ones it covers, so nothing is counted twice;
- `fig`: each owing region's own figure — flow: the sum, complete when every month of the
  window is covered; stock: the last reported month's pair, complete when that month is the
  window's last;
- rows that owe the figure themselves ($r_own) take their own; the others are the roll-up of
  the owing regions below them ($m_*): the sums over the members whose figure is complete,
  with how many members owe it, how many are complete and how many are partial.
"""

# Timestamp far in the future: "as of now" = every value and target currently in force.
FAR_FUTURE = "9999-12-31 00:00:00"

IN_FORCE_VALUE = "v.loaded_at <= $T AND (v.superseded_at IS NULL OR v.superseded_at > $T)"
IN_FORCE_TARGET = "t.valid_from <= $T AND (t.valid_to IS NULL OR t.valid_to > $T)"

# The values a figure reads, each with `unrev`: not approved at $T (its submission, or an
# upload that sent it again unchanged — value_confirmations — approved by then). Normally the
# values in force at $T; reviewed only: per key the latest value approved at $T (a pending or
# returned revision is skipped, the approved one before it counts, or nothing).
_APPROVED = """(v.submission_id IN (SELECT submission_id FROM appr)
            OR v.value_id IN (SELECT c.value_id FROM value_confirmations c SEMI JOIN appr a
                              ON a.submission_id = c.submission_id))"""
_APPR = """appr AS (
    SELECT submission_id FROM submission_reviews WHERE decision = 'approved' AND decided_at <= $T
),"""
VALS_IN_FORCE = f"""{_APPR}
vals AS (
    SELECT v.region_code, v.indicator_code, v.period_type, v.year, v.month_from, v.month_to,
           v.numerator, v.denominator, NOT {_APPROVED} AS unrev
    FROM return_values v SEMI JOIN owed o
         ON o.region_code = v.region_code AND o.indicator_code = v.indicator_code
    WHERE {IN_FORCE_VALUE} AND v.year IN (SELECT DISTINCT year FROM win)
),"""
VALS_REVIEWED = f"""{_APPR}
vals AS (
    SELECT v.region_code, v.indicator_code, v.period_type, v.year, v.month_from, v.month_to,
           v.numerator, v.denominator, FALSE AS unrev
    FROM return_values v SEMI JOIN owed o
         ON o.region_code = v.region_code AND o.indicator_code = v.indicator_code
    WHERE v.loaded_at <= $T AND v.year IN (SELECT DISTINCT year FROM win) AND {_APPROVED}
    QUALIFY row_number() OVER (PARTITION BY v.region_code, v.indicator_code, v.period
                               ORDER BY v.loaded_at DESC, v.value_id DESC) = 1
),"""

_FIGURES_TEMPLATE = f"""
WITH
win AS (
    SELECT unnest($w_key::INTEGER[]) AS wkey, unnest($w_ind::VARCHAR[]) AS indicator_code,
           unnest($w_year::INTEGER[]) AS year, unnest($w_from::INTEGER[]) AS w_from,
           unnest($w_to::INTEGER[]) AS w_to
),
owed AS (
    SELECT unnest($o_region::VARCHAR[]) AS region_code, unnest($o_ind::VARCHAR[]) AS indicator_code
),
{{vals}}
cand AS (
    SELECT w.wkey, w.w_from, w.w_to, i.aggregation, v.*,
           bool_or(v.period_type = 'Y') OVER (
               PARTITION BY w.wkey, v.region_code, v.indicator_code) AS has_y,
           bool_or(v.period_type = 'Q') OVER (
               PARTITION BY w.wkey, v.region_code, v.indicator_code, (v.month_to - 1) // 3) AS has_q
    FROM vals v
    JOIN win w ON w.indicator_code = v.indicator_code AND w.year = v.year
              AND v.month_to BETWEEN w.w_from AND w.w_to
    JOIN indicators i ON i.code = v.indicator_code
    WHERE i.aggregation = 'stock' OR v.month_from >= w.w_from
),
kept AS (
    SELECT * FROM cand
    WHERE period_type = 'Y' OR (period_type = 'Q' AND NOT has_y)
       OR (period_type = 'M' AND NOT has_y AND NOT has_q)
),
agg AS (
    SELECT wkey, region_code, indicator_code, any_value(aggregation) AS aggregation,
           any_value(w_from) AS w_from, any_value(w_to) AS w_to,
           sum(numerator) AS sum_num, sum(denominator) AS sum_den,
           sum(month_to - month_from + 1) AS covered,
           flatten(list(range(month_from, month_to + 1))) AS covered_list,
           max_by({{'n': numerator, 'd': denominator}}, month_to) AS last_pair,
           max(month_to) AS last_month,
           bool_or(unrev) AS any_unrev,
           max_by(unrev, month_to) AS last_unrev
    FROM kept GROUP BY wkey, region_code, indicator_code
),
fig AS (
    SELECT wkey, region_code, indicator_code,
           CASE WHEN aggregation = 'flow' THEN sum_num ELSE last_pair.n END AS num,
           CASE WHEN aggregation = 'flow' THEN sum_den ELSE last_pair.d END AS den,
           CASE WHEN aggregation = 'flow' THEN covered = w_to - w_from + 1
                ELSE last_month = w_to END AS complete,
           CASE WHEN aggregation = 'flow' THEN covered ELSE NULL END AS months_covered,
           CASE WHEN aggregation = 'flow' THEN list_filter(range(w_from, w_to + 1),
                                                           lambda x: NOT list_contains(covered_list, x))
                WHEN last_month < w_to THEN [w_to] END AS missing_list,
           last_month,
           CASE WHEN aggregation = 'flow' THEN any_unrev ELSE last_unrev END AS unrev
    FROM agg
),
rowset AS (
    SELECT unnest($r_region::VARCHAR[]) AS region_code, unnest($r_ind::VARCHAR[]) AS indicator_code,
           unnest($r_own::BOOLEAN[]) AS own
),
members AS (
    SELECT unnest($m_row::VARCHAR[]) AS row_region, unnest($m_des::VARCHAR[]) AS member
),
own_rows AS (
    SELECT w.wkey, r.region_code, r.indicator_code, TRUE AS own, f.num, f.den,
           coalesce(f.complete, FALSE) AS complete, f.months_covered, f.last_month,
           CASE WHEN f.num IS NULL THEN NULL
                ELSE nullif(array_to_string(f.missing_list, ','), '') END AS missing_months,
           1 AS expected_reporters,
           CASE WHEN f.complete THEN 1 ELSE 0 END AS reporters,
           CASE WHEN f.num IS NOT NULL AND NOT f.complete THEN 1 ELSE 0 END AS partial_reporters,
           coalesce(f.unrev, FALSE) AS unrev
    FROM rowset r JOIN win w ON w.indicator_code = r.indicator_code
    LEFT JOIN fig f ON f.wkey = w.wkey AND f.region_code = r.region_code
                   AND f.indicator_code = r.indicator_code
    WHERE r.own
),
roll_members AS (
    SELECT r.region_code, r.indicator_code, m.member
    FROM rowset r JOIN members m ON m.row_region = r.region_code
    SEMI JOIN owed o ON o.region_code = m.member AND o.indicator_code = r.indicator_code
    WHERE NOT r.own
),
roll_rows AS (
    SELECT w.wkey, rm.region_code, rm.indicator_code, FALSE AS own,
           sum(f.num) FILTER (WHERE f.complete) AS num,
           sum(f.den) FILTER (WHERE f.complete) AS den,
           count(*) = count(*) FILTER (WHERE f.complete) AS complete,
           NULL::BIGINT AS months_covered, NULL::INTEGER AS last_month,
           NULL::VARCHAR AS missing_months,
           count(*) AS expected_reporters,
           count(*) FILTER (WHERE f.complete) AS reporters,
           count(*) FILTER (WHERE f.num IS NOT NULL AND NOT f.complete) AS partial_reporters,
           coalesce(bool_or(f.unrev) FILTER (WHERE f.complete), FALSE) AS unrev
    FROM roll_members rm JOIN win w ON w.indicator_code = rm.indicator_code
    LEFT JOIN fig f ON f.wkey = w.wkey AND f.region_code = rm.member
                   AND f.indicator_code = rm.indicator_code
    GROUP BY w.wkey, rm.region_code, rm.indicator_code
)
SELECT * FROM own_rows
UNION ALL
SELECT * FROM roll_rows
"""
FIGURES_SQL = _FIGURES_TEMPLATE.replace("{vals}", VALS_IN_FORCE)
FIGURES_REVIEWED_SQL = _FIGURES_TEMPLATE.replace("{vals}", VALS_REVIEWED)

# Targets of a tier in force at $T anywhere in the given jurisdictions.
TARGETS_SQL = f"""
SELECT t.target_id, t.indicator_code, t.region_code AS target_scope, t.value AS target,
       t.comparator, t.tier, t.plan_code AS target_plan, t.timing, t.year_from, t.deadline,
       t.effective, t.basis AS target_basis, coalesce(t.judge, 'hold') AS judge,
       concat_ws(' ', p.doc_number, t.clause) AS target_source, t.text AS target_text
FROM targets t JOIN regions r ON r.code = t.region_code
LEFT JOIN plans p ON p.code = t.plan_code
WHERE t.tier = $tier AND {IN_FORCE_TARGET}
  AND r.jurisdiction_code IN (SELECT unnest($jurs::VARCHAR[]))
"""

# Plan baselines (baselines table) for the given regions, in force at $T.
BASELINES_SQL = """
SELECT b.region_code, b.indicator_code, b.period, b.value
FROM baselines b
WHERE b.region_code IN (SELECT unnest($rows::VARCHAR[]))
  AND b.valid_from <= $T AND (b.valid_to IS NULL OR b.valid_to > $T)
"""

# Which indicators matter in a jurisdiction: a target in force there, data in force below the
# rows, or a line of who-reports-what.
RELEVANT_SQL = f"""
SELECT DISTINCT r.jurisdiction_code, t.indicator_code
FROM targets t JOIN regions r ON r.code = t.region_code
WHERE {IN_FORCE_TARGET} AND r.jurisdiction_code IN (SELECT unnest($jurs::VARCHAR[]))
UNION
SELECT DISTINCT r.jurisdiction_code, v.indicator_code
FROM return_values v JOIN regions r ON r.code = v.region_code
WHERE v.region_code IN (SELECT unnest($codes::VARCHAR[])) AND {IN_FORCE_VALUE}
UNION
SELECT jurisdiction_code, indicator_code FROM reporting
WHERE jurisdiction_code IN (SELECT unnest($jurs::VARCHAR[]))
"""


# Rows of the figures table (figure_table.py) for row regions $rows, figure periods $fps and
# view basis $b in snapshot $s (engine.Metrics._stored assembles the views from them).
STORED_SQL = """
SELECT f.region_code, f.indicator_code, f.figure_period, row_kind, judged_on, numerator, denominator,
       actual, value_source, complete, months_covered, months_expected, last_month,
       missing_months, reporters, expected_reporters, partial_reporters, target, comparator, tier,
       target_scope, target_plan, target_source, target_deadline, target_basis, judge, standing,
       gap, completion, status, rated, f.tolerance, rank, rank_of, rank_ties, streak, baseline,
       expected, on_track, forecast, needed_per_month, months_left, coalesce(unreviewed, FALSE) AS unreviewed
FROM figures f
WHERE f.snapshot_id = $s AND f.view_basis = $b
  -- implied by the list, but a range lets DuckDB skip the row groups of other jurisdictions
  AND f.region_code BETWEEN $lo AND $hi
  AND list_contains($rows::VARCHAR[], f.region_code) AND list_contains($fps::VARCHAR[], f.figure_period)
  AND ($inds::VARCHAR[] IS NULL OR list_contains($inds::VARCHAR[], f.indicator_code))
"""
