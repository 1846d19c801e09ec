-- daily_trend (sql/marts/overview/daily_trend.sql): the $trend_days days up to $as_of (report time zone):
-- events, sessions (by start), completed orders and revenue; empty days as zeros.
WITH e AS (
    SELECT CAST(timezone($report_tz, timezone('UTC', event_time)) AS DATE) AS day, count(*) AS events
    FROM stg_events GROUP BY 1
),
s AS (
    SELECT CAST(timezone($report_tz, timezone('UTC', session_start)) AS DATE) AS day, count(*) AS sessions
    FROM stg_sessions GROUP BY 1
),
o AS (
    SELECT order_day AS day, count(*) AS orders, sum(amount) AS revenue
    FROM stg_orders WHERE completed GROUP BY 1
)
SELECT d.day,
       COALESCE(e.events, 0) AS events,
       COALESCE(s.sessions, 0) AS sessions,
       COALESCE(o.orders, 0) AS orders,
       COALESCE(o.revenue, 0.0) AS revenue
FROM (SELECT CAST($as_of - CAST(i AS INTEGER) AS DATE) AS day FROM range(0, $trend_days) r(i)) d
LEFT JOIN e ON e.day = d.day
LEFT JOIN s ON s.day = d.day
LEFT JOIN o ON o.day = d.day
ORDER BY d.day
