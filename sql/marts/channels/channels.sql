-- channels: the report period per channel (a session's channel is that of its first event).
--
-- Columns: channel, sessions, customers (BIGINT), sessions_per_customer (DOUBLE),
-- converting_sessions (BIGINT: sessions holding a $conversion_event event),
-- session_conversion_rate (DOUBLE), bounce_rate (DOUBLE: single-event sessions),
-- avg_events_per_session (DOUBLE), orders (DOUBLE: completed orders credited last-touch,
-- see attribution.sql), revenue (DOUBLE, currency units, last-touch).
WITH s AS (
    SELECT channel,
           count(*) AS sessions,
           count(DISTINCT customer_id) AS customers,
           sum(CASE WHEN converted THEN 1 ELSE 0 END) AS converting_sessions,
           avg(CASE WHEN events = 1 THEN 1.0 ELSE 0.0 END) AS bounce_rate,
           avg(CAST(events AS DOUBLE)) AS avg_events_per_session
    FROM stg_sessions
    WHERE session_start >= $period_start
    GROUP BY channel
)
SELECT
    COALESCE(s.channel, a.channel) AS channel,
    COALESCE(s.sessions, 0) AS sessions,
    COALESCE(s.customers, 0) AS customers,
    CAST(s.sessions AS DOUBLE) / NULLIF(s.customers, 0) AS sessions_per_customer,
    COALESCE(s.converting_sessions, 0) AS converting_sessions,
    CAST(s.converting_sessions AS DOUBLE) / NULLIF(s.sessions, 0) AS session_conversion_rate,
    s.bounce_rate,
    s.avg_events_per_session,
    COALESCE(a.last_touch_conversions, 0.0) AS orders,
    COALESCE(a.last_touch_revenue, 0.0) AS revenue
FROM s
FULL OUTER JOIN attribution a ON a.channel = s.channel
ORDER BY revenue DESC, sessions DESC, channel
