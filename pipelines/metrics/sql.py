"""All indicator SQL, in layers: values in force → period values → roll-ups → targets → gaps.

One parameterised query (`GAPS_SQL`) computes any set of row regions × indicators × windows:
- `win`: the windows (one per period asked for; `ytd` makes a flow window start in January);
- `vals`: return_values in force at $T, restricted to the subtree of the row regions;
- `kept`: the values a window uses — a value counts when it lies inside the window, and a
  coarser return (year > quarter > month) hides the finer ones it covers (no double counting);
- `own`: each region's own period value — flow sums, stock takes the last reported month;
- `res`: a region's resolved value — its own if reported, else the sum of the components of
  the topmost reported regions below it (recursively; never an average of rates);
- `tgt`: the target in force for (region, indicator, window, tier): nearest scope first
  (rates and means inherit from ancestors, counts only their own region), then the latest
  year_from, effective and deadline;
- final select: actual in the unit, gap (negative = short), completion, status and rank.
"""

# Timestamp far in the future: "as of now" = every value and target currently in force.
FAR_FUTURE = "9999-12-31 00:00:00"

_IN_FORCE_VALUE = "v.loaded_at <= $T AND (v.superseded_at IS NULL OR v.superseded_at > $T)"
_IN_FORCE_TARGET = "t.valid_from <= $T AND (t.valid_to IS NULL OR t.valid_to > $T)"

GAPS_SQL = f"""
WITH
win AS (
    SELECT unnest($w_key::INTEGER[]) AS wkey, unnest($w_period::VARCHAR[]) AS period,
           unnest($w_year::INTEGER[]) AS year, unnest($w_from::INTEGER[]) AS p_from,
           unnest($w_to::INTEGER[]) AS p_to, unnest($w_ytd::BOOLEAN[]) AS ytd
),
win_months AS (
    SELECT wkey, year, p_from, p_to, ytd,
           unnest(range(CASE WHEN ytd THEN 1 ELSE p_from END, p_to + 1)) AS month
    FROM win
),
row_regions AS (
    SELECT r.code AS region_code, r.name AS region_name, r.parent_code, r.jurisdiction_code,
           r.depth, r.sort_order, coalesce(r.code = $parent, FALSE) AS is_parent
    FROM regions r WHERE r.code IN (SELECT unnest($rows::VARCHAR[]))
),
lineage AS (   -- each region with itself and up to three ancestors (trees <= 4 levels)
    SELECT r.code, r.depth, r.active,
           [r.code, r.parent_code, p.parent_code, g.parent_code] AS line
    FROM regions r LEFT JOIN regions p ON p.code = r.parent_code
    LEFT JOIN regions g ON g.code = p.parent_code
),
paths AS (     -- (ancestor-or-self, descendant, distance) over the whole forest
    SELECT line[i] AS anc, code AS des, depth - i + 1 AS anc_depth, i - 1 AS dist, active
    FROM lineage, range(1, 5) AS t(i)
    WHERE line[i] IS NOT NULL
),
sub AS (       -- the row regions and every active region below them
    SELECT DISTINCT p.des AS code FROM paths p
    WHERE p.anc IN (SELECT region_code FROM row_regions) AND p.active
),
clo AS (
    SELECT anc, des, anc_depth FROM paths
    WHERE des IN (SELECT code FROM sub) AND anc IN (SELECT code FROM sub)
),
ups AS (
    SELECT des AS region_code, anc, dist FROM paths
    WHERE des IN (SELECT region_code FROM row_regions)
),
rel AS (
    SELECT DISTINCT r.jurisdiction_code, t.indicator_code
    FROM targets t JOIN regions r ON r.code = t.region_code
    WHERE $inds::VARCHAR[] IS NULL AND {_IN_FORCE_TARGET}
      AND r.jurisdiction_code IN (SELECT jurisdiction_code FROM row_regions)
    UNION
    SELECT DISTINCT r.jurisdiction_code, v.indicator_code
    FROM return_values v JOIN regions r ON r.code = v.region_code
    WHERE $inds::VARCHAR[] IS NULL AND v.region_code IN (SELECT code FROM sub)
      AND {_IN_FORCE_VALUE}
    UNION
    SELECT DISTINCT jurisdiction_code, unnest($inds::VARCHAR[]) FROM row_regions
    WHERE $inds::VARCHAR[] IS NOT NULL
),
vals AS (
    SELECT v.region_code, v.indicator_code, v.period_type, v.year, v.month_from, v.month_to,
           v.numerator, v.denominator
    FROM return_values v
    WHERE {_IN_FORCE_VALUE}
      AND v.region_code IN (SELECT code FROM sub)
      AND v.indicator_code IN (SELECT indicator_code FROM rel)
      AND v.year IN (SELECT year FROM win)
),
cand AS (
    SELECT w.wkey, w.p_to AS w_to, i.aggregation, v.*,
           bool_or(v.period_type = 'Y') OVER (
               PARTITION BY w.wkey, v.region_code, v.indicator_code) AS has_y,
           bool_or(v.period_type = 'Q') OVER (
               PARTITION BY w.wkey, v.region_code, v.indicator_code, (v.month_to - 1) // 3) AS has_q
    FROM vals v JOIN win_months w ON v.year = w.year AND v.month_to = w.month
    JOIN indicators i ON i.code = v.indicator_code
    WHERE v.month_from >= CASE WHEN i.aggregation = 'flow' AND w.ytd THEN 1 ELSE w.p_from END
),
kept AS (
    SELECT * FROM cand
    WHERE period_type = 'Y' OR (period_type = 'Q' AND NOT has_y)
       OR (period_type = 'M' AND NOT has_y AND NOT has_q)
),
own_raw AS (
    SELECT wkey, region_code, indicator_code, any_value(aggregation) AS aggregation,
           sum(numerator) AS sum_num, sum(denominator) AS sum_den,
           max_by({{'n': numerator, 'd': denominator}}, month_to) AS last_pair,
           max(month_to) AS last_month, any_value(w_to) AS w_to
    FROM kept GROUP BY wkey, region_code, indicator_code
),
own AS (
    SELECT wkey, region_code, indicator_code,
           CASE WHEN aggregation = 'flow' THEN sum_num ELSE last_pair.n END AS num,
           CASE WHEN aggregation = 'flow' THEN sum_den ELSE last_pair.d END AS den,
           aggregation = 'stock' AND last_month < w_to AS missing
    FROM own_raw
),
blk AS (
    SELECT o.wkey, o.region_code, o.indicator_code, max(c.anc_depth) AS h
    FROM own o JOIN clo c ON c.des = o.region_code AND c.anc <> c.des
    JOIN own a ON a.wkey = o.wkey AND a.region_code = c.anc AND a.indicator_code = o.indicator_code
    GROUP BY ALL
),
res_regions AS (
    SELECT region_code AS code FROM row_regions
    UNION
    SELECT r.code FROM regions r JOIN row_regions rr ON r.parent_code = rr.region_code
    WHERE r.active
),
res AS (
    SELECT c.anc AS region_code, o.wkey, o.indicator_code, sum(o.num) AS num, sum(o.den) AS den,
           bool_or(o.missing) AS missing, bool_or(c.anc = o.region_code) AS reported
    FROM own o JOIN clo c ON c.des = o.region_code
    LEFT JOIN blk b ON b.wkey = o.wkey AND b.region_code = o.region_code
                   AND b.indicator_code = o.indicator_code
    WHERE c.anc IN (SELECT code FROM res_regions) AND (b.h IS NULL OR b.h < c.anc_depth)
    GROUP BY ALL
),
kids AS (
    SELECT rr.region_code, count(*) AS expected_reporters
    FROM row_regions rr JOIN regions r ON r.parent_code = rr.region_code
    WHERE r.active GROUP BY ALL
),
rep AS (
    SELECT r.parent_code AS region_code, x.wkey, x.indicator_code, count(*) AS reporters
    FROM res x JOIN regions r ON r.code = x.region_code
    WHERE r.parent_code IN (SELECT region_code FROM row_regions) AND x.num IS NOT NULL
    GROUP BY ALL
),
grid AS (
    SELECT rr.*, i.code AS indicator_code, i.name AS indicator_name, i.unit, i.kind,
           i.direction, i.aggregation, i.frequency, i.scale, i.tolerance AS tolerance_setting,
           i.sort_order AS indicator_order,
           w.wkey, w.period, w.year, w.p_from, w.p_to, w.ytd,
           last_day(make_date(w.year, w.p_to, 1)) AS p_end
    FROM row_regions rr JOIN rel ON rel.jurisdiction_code = rr.jurisdiction_code
    JOIN indicators i ON i.code = rel.indicator_code CROSS JOIN win w
),
tgt AS (
    SELECT g.wkey, g.region_code, g.indicator_code, t.value AS target, t.comparator, t.tier,
           t.region_code AS target_scope, t.plan_code AS target_plan,
           concat_ws(' ', p.doc_number, t.clause) AS target_source,
           coalesce(t.deadline, make_date(g.year, 12, 31)) AS target_deadline,
           t.timing AS target_timing, t.basis AS target_basis, t.text AS target_text
    FROM grid g JOIN ups u ON u.region_code = g.region_code
    JOIN targets t ON t.region_code = u.anc AND t.indicator_code = g.indicator_code
    LEFT JOIN plans p ON p.code = t.plan_code
    WHERE t.tier = $tier AND {_IN_FORCE_TARGET}
      AND t.year_from <= g.year AND t.effective <= g.p_end
      AND (g.kind <> 'count' OR u.dist = 0)
    QUALIFY row_number() OVER (
        PARTITION BY g.wkey, g.region_code, g.indicator_code
        ORDER BY u.dist, t.year_from DESC, t.effective DESC, t.deadline DESC NULLS LAST,
                 t.target_id DESC) = 1
),
calc AS (
    SELECT g.*, x.num AS numerator, x.den AS denominator,
           CASE WHEN x.num IS NULL THEN NULL
                WHEN g.kind = 'count' THEN x.num
                ELSE g.scale * x.num / NULLIF(x.den, 0) END AS actual,
           CASE WHEN x.num IS NULL THEN NULL WHEN x.reported THEN 'reported'
                ELSE 'rolled_up' END AS value_source,
           coalesce(rp.reporters, 0) AS reporters,
           coalesce(k.expected_reporters, 0) AS expected_reporters,
           coalesce(x.missing, FALSE) AS stock_month_missing,
           t.* EXCLUDE (wkey, region_code, indicator_code)
    FROM grid g
    LEFT JOIN res x ON x.wkey = g.wkey AND x.region_code = g.region_code
                   AND x.indicator_code = g.indicator_code
    LEFT JOIN rep rp ON rp.wkey = g.wkey AND rp.region_code = g.region_code
                    AND rp.indicator_code = g.indicator_code
    LEFT JOIN kids k ON k.region_code = g.region_code
    LEFT JOIN tgt t ON t.wkey = g.wkey AND t.region_code = g.region_code
                   AND t.indicator_code = g.indicator_code
),
scored AS (
    SELECT *,
           CASE WHEN direction = 'lower' THEN target - actual ELSE actual - target END AS gap,
           CASE WHEN target IS NULL OR target = 0 OR actual IS NULL THEN NULL
                WHEN direction = 'lower' THEN CASE WHEN actual = 0 THEN NULL
                                                   ELSE target / actual * 100 END
                ELSE actual / target * 100 END AS completion,
           CASE WHEN unit = '%' THEN tolerance_setting
                ELSE tolerance_setting * abs(target) END AS tolerance
    FROM calc
),
statused AS (
    SELECT *,
           CASE WHEN actual IS NULL THEN '未报送'
                WHEN target IS NULL THEN '无目标'
                WHEN round(gap, 9) >= 0 THEN '达标'
                WHEN abs(gap) <= tolerance + 1e-9 THEN '接近'
                ELSE '未达标' END AS status,
           NOT is_parent AND actual IS NOT NULL AS rankable
    FROM scored
)
SELECT * EXCLUDE (rankable),
       CASE WHEN rankable THEN rank() OVER (
           PARTITION BY wkey, indicator_code, rankable
           ORDER BY round(CASE WHEN direction = 'lower' THEN actual ELSE -actual END, 9)) END
           AS rank,
       CASE WHEN rankable THEN count(*) OVER (PARTITION BY wkey, indicator_code, rankable) END
           AS rank_of
FROM statused
ORDER BY wkey, is_parent DESC, sort_order, indicator_order
"""

# Plan baselines (baselines table) for the row regions, in force at $T.
BASELINES_SQL = """
SELECT b.region_code, b.indicator_code, b.period, b.value
FROM baselines b
WHERE b.region_code IN (SELECT unnest($rows::VARCHAR[]))
  AND b.valid_from <= $T AND (b.valid_to IS NULL OR b.valid_to > $T)
"""
