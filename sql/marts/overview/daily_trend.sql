-- daily_trend: one row per day of the $trend_days days ending $as_of (days in the report
-- time zone), days without activity included with zeros.
--
-- Columns: day (DATE), events, sessions (BIGINT, by session start), orders (BIGINT:
-- completed), revenue (DOUBLE, currency units).
WITH days AS (
    SELECT CAST(CAST($as_of AS INT) - CAST(value AS INT) AS DATE) AS day
    FROM generate_series(0, $trend_days - 1)
),
e AS (
    SELECT local_date(event_time, $report_tz) AS day, count(*) AS events
    FROM stg_events GROUP BY 1
),
s AS (
    SELECT local_date(session_start, $report_tz) AS day, count(*) AS sessions
    FROM stg_sessions GROUP BY 1
),
o AS (
    -- revenue adds up exactly as DECIMAL: it does not depend on the order the rows arrive in
    SELECT order_day AS day, count(*) AS orders,
           CAST(sum(CAST(amount AS DECIMAL(38, 6))) AS DOUBLE) AS revenue
    FROM stg_orders WHERE completed GROUP BY 1
)
SELECT d.day,
       COALESCE(e.events, 0) AS events,
       COALESCE(s.sessions, 0) AS sessions,
       COALESCE(o.orders, 0) AS orders,
       COALESCE(o.revenue, 0.0) AS revenue
FROM days d
LEFT JOIN e ON e.day = d.day
LEFT JOIN s ON s.day = d.day
LEFT JOIN o ON o.day = d.day
ORDER BY d.day
