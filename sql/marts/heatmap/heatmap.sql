-- heatmap: events of the report period by day of week × hour of day in the report time zone
-- ($report_tz, daylight saving time included). All 168 cells are listed; empty ones hold 0.
--
-- Columns: day_of_week (BIGINT, 1 = Monday … 7 = Sunday, ISO 8601), day_name (VARCHAR),
-- hour (BIGINT, 0–23, local), events (BIGINT), customers (BIGINT, distinct customers active).
WITH local AS (
    SELECT customer_id, local_time(event_time, $report_tz) AS t
    FROM stg_events
    WHERE event_time >= $period_start
),
counted AS (
    SELECT CAST(date_part('dow', t) AS BIGINT) AS dow0,
           CAST(date_part('hour', t) AS BIGINT) AS hour,
           count(*) AS events,
           count(DISTINCT customer_id) AS customers
    FROM local
    GROUP BY 1, 2
),
cells AS (
    SELECT d.value AS day_of_week, h.value AS hour
    FROM generate_series(1, 7) d CROSS JOIN generate_series(0, 23) h
)
SELECT
    c.day_of_week,
    CASE c.day_of_week WHEN 1 THEN 'Mon' WHEN 2 THEN 'Tue' WHEN 3 THEN 'Wed' WHEN 4 THEN 'Thu'
                       WHEN 5 THEN 'Fri' WHEN 6 THEN 'Sat' ELSE 'Sun' END AS day_name,
    c.hour,
    COALESCE(k.events, 0) AS events,
    COALESCE(k.customers, 0) AS customers
FROM cells c
LEFT JOIN counted k
  ON (CASE WHEN k.dow0 = 0 THEN 7 ELSE k.dow0 END) = c.day_of_week AND k.hour = c.hour
ORDER BY c.day_of_week, c.hour
