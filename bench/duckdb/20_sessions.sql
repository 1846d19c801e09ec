-- sessions (sql/marts/channels/sessions.sql): sessions of the report period per channel and per device.
WITH s AS (
    SELECT * FROM stg_sessions WHERE session_start >= $period_start
),
dims AS (
    SELECT 'channel' AS dimension, channel AS value, customer_id, duration_seconds, events, converted, session_inferred FROM s
    UNION ALL
    SELECT 'device', COALESCE(device, '(unknown)'), customer_id, duration_seconds, events, converted, session_inferred FROM s
)
SELECT dimension, value,
       count(*) AS sessions,
       count(DISTINCT customer_id) AS customers,
       count(*) / count(DISTINCT customer_id) AS sessions_per_customer,
       avg(duration_seconds) AS avg_duration_seconds,
       median(duration_seconds) AS median_duration_seconds,
       avg(events) AS events_per_session,
       avg(CASE WHEN events = 1 THEN 1.0 ELSE 0.0 END) AS bounce_rate,
       avg(CASE WHEN converted THEN 1.0 ELSE 0.0 END) AS conversion_rate,
       avg(CASE WHEN session_inferred THEN 1.0 ELSE 0.0 END) AS inferred_share
FROM dims
GROUP BY dimension, value
ORDER BY dimension, sessions DESC, value
