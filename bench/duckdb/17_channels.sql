-- channels (sql/marts/channels/channels.sql): sessions of the report period per channel, with last-touch
-- orders and revenue (attribution_rules).
WITH s AS (
    SELECT channel,
           count(*) AS sessions,
           count(DISTINCT customer_id) AS customers,
           count(*) FILTER (WHERE converted) AS converting_sessions,
           avg(CASE WHEN events = 1 THEN 1.0 ELSE 0.0 END) AS bounce_rate,
           avg(events) AS avg_events_per_session
    FROM stg_sessions
    WHERE session_start >= $period_start
    GROUP BY channel
)
SELECT
    COALESCE(s.channel, a.channel) AS channel,
    COALESCE(s.sessions, 0) AS sessions,
    COALESCE(s.customers, 0) AS customers,
    s.sessions / NULLIF(s.customers, 0) AS sessions_per_customer,
    COALESCE(s.converting_sessions, 0) AS converting_sessions,
    s.converting_sessions / NULLIF(s.sessions, 0) AS session_conversion_rate,
    s.bounce_rate,
    s.avg_events_per_session,
    COALESCE(a.last_touch_conversions, 0.0) AS orders,
    COALESCE(a.last_touch_revenue, 0.0) AS revenue
FROM s
FULL OUTER JOIN attribution_rules a ON a.channel = s.channel
ORDER BY revenue DESC, sessions DESC, channel
