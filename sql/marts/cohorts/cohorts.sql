-- cohorts: acquisition cohorts × periods since acquisition — the retention matrix, monthly
-- (the last 12 monthly cohorts) and weekly (the last 12 weekly cohorts, weeks from Monday).
--
-- A customer's cohort is the month (week) of their sign-up (stg_customers.signup_at) in the
-- report time zone $report_tz; period 0 is that month (week) itself, period n the n-th after.
-- active: customers of the cohort with any event in the period (returning activity);
-- buyers: customers with a completed order in it (repeat purchase from period 1 on).
-- Periods that have not started by the end of $as_of are left out; complete is false for the
-- period that is still running (its numbers will grow).
--
-- Columns: grain (VARCHAR: 'month' or 'week'), cohort (DATE: first day of the cohort),
-- cohort_label (VARCHAR: '2026-10' or '2026-10-26'), period (BIGINT, 0–11), cohort_size
-- (BIGINT), active, buyers (BIGINT), active_rate, buyer_rate (DOUBLE: share of the cohort),
-- complete (BOOLEAN).
WITH grains AS (
    SELECT 'month' AS grain UNION ALL SELECT 'week'
),
members AS (
    SELECT g.grain, c.customer_id,
           CAST(CASE WHEN g.grain = 'month'
                     THEN date_trunc('month', local_time(c.signup_at, $report_tz))
                     ELSE date_trunc('week', local_time(c.signup_at, $report_tz)) END AS DATE) AS cohort
    FROM stg_customers c CROSS JOIN grains g
    WHERE c.signup_at < $as_of_end
),
recent AS (
    -- the last 12 cohorts of each grain: month index or week index within 11 of the as-of one
    SELECT m.*,
           CASE WHEN m.grain = 'month'
                THEN (date_part('year', $as_of) * 12 + date_part('month', $as_of))
                   - (date_part('year', m.cohort) * 12 + date_part('month', m.cohort))
                ELSE (CAST(CAST(date_trunc('week', CAST($as_of AS TIMESTAMP)) AS DATE) AS INT) - CAST(m.cohort AS INT)) / 7
           END AS cohort_age
    FROM members m
),
sizes AS (
    SELECT grain, cohort, count(*) AS cohort_size FROM recent WHERE cohort_age <= 11 GROUP BY grain, cohort
),
activity AS (
    -- (The constant `bought` is added after DISTINCT: as a grouping column it would make
    -- DataFusion 55 group through its slower row format, 4× the time on 10M events.)
    SELECT customer_id, day, false AS bought
    FROM (SELECT DISTINCT customer_id, local_date(event_time, $report_tz) AS day
          FROM stg_events) e
    UNION ALL
    SELECT customer_id, day, true AS bought
    FROM (SELECT DISTINCT customer_id, order_day AS day FROM stg_orders WHERE completed) o
),
periods AS (
    SELECT r.grain, r.cohort, a.customer_id, a.bought,
           CAST(CASE WHEN r.grain = 'month'
                THEN (date_part('year', a.day) * 12 + date_part('month', a.day))
                   - (date_part('year', r.cohort) * 12 + date_part('month', r.cohort))
                ELSE (CAST(a.day AS INT) - CAST(r.cohort AS INT)) / 7
           END AS BIGINT) AS period
    FROM recent r
    JOIN activity a ON a.customer_id = r.customer_id AND a.day >= r.cohort
    WHERE r.cohort_age <= 11
),
counts AS (
    SELECT grain, cohort, period,
           count(DISTINCT CASE WHEN NOT bought THEN customer_id END) AS active,
           count(DISTINCT CASE WHEN bought THEN customer_id END) AS buyers
    FROM periods
    WHERE period BETWEEN 0 AND 11
    GROUP BY grain, cohort, period
),
grid AS (
    -- every period that has started by the end of the as-of day
    SELECT s.grain, s.cohort, s.cohort_size, CAST(p.value AS BIGINT) AS period
    FROM sizes s CROSS JOIN generate_series(0, 11) AS p(value)
    WHERE CASE WHEN s.grain = 'month'
               THEN (date_part('year', $as_of) * 12 + date_part('month', $as_of))
                  - (date_part('year', s.cohort) * 12 + date_part('month', s.cohort)) >= p.value
               ELSE CAST($as_of AS INT) - CAST(s.cohort AS INT) >= 7 * p.value END
)
SELECT
    g.grain,
    g.cohort,
    CASE WHEN g.grain = 'month' THEN substr(CAST(g.cohort AS VARCHAR), 1, 7) ELSE CAST(g.cohort AS VARCHAR) END AS cohort_label,
    g.period,
    g.cohort_size,
    COALESCE(c.active, 0) AS active,
    COALESCE(c.buyers, 0) AS buyers,
    CAST(COALESCE(c.active, 0) AS DOUBLE) / g.cohort_size AS active_rate,
    CAST(COALESCE(c.buyers, 0) AS DOUBLE) / g.cohort_size AS buyer_rate,
    CASE WHEN g.grain = 'month'
         THEN (date_part('year', $as_of + INTERVAL '1 day') * 12 + date_part('month', $as_of + INTERVAL '1 day'))
            - (date_part('year', g.cohort) * 12 + date_part('month', g.cohort)) > g.period
         ELSE CAST($as_of AS INT) + 1 >= CAST(g.cohort AS INT) + 7 * (g.period + 1) END AS complete
FROM grid g
LEFT JOIN counts c ON c.grain = g.grain AND c.cohort = g.cohort AND c.period = g.period
ORDER BY g.grain, g.cohort, g.period
