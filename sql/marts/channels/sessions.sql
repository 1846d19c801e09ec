-- sessions: the sessions of the report period (stg_sessions: the export's own session ids,
-- or sessions inferred in stg_events by the $session_gap_minutes inactivity gap and, when
-- $session_split_on_campaign, a change of channel or campaign) per channel and per device.
--
-- Columns: dimension (VARCHAR: 'channel' or 'device'), value (VARCHAR), sessions, customers
-- (BIGINT), sessions_per_customer (DOUBLE), avg_duration_seconds, median_duration_seconds
-- (DOUBLE: first to last event of the session; 0 for a single-event session),
-- events_per_session (DOUBLE), bounce_rate (DOUBLE: sessions with one event),
-- conversion_rate (DOUBLE: sessions holding a $conversion_event event), inferred_share
-- (DOUBLE: sessions whose id was inferred, not exported).
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
       CAST(count(*) AS DOUBLE) / count(DISTINCT customer_id) AS sessions_per_customer,
       -- durations add up exactly as DECIMAL (to the microsecond): the mean does not depend
       -- on the order the rows arrive in
       CAST(sum(CAST(duration_seconds AS DECIMAL(38, 6))) AS DOUBLE) / count(duration_seconds) AS avg_duration_seconds,
       median(duration_seconds) AS median_duration_seconds,
       avg(CAST(events AS DOUBLE)) AS events_per_session,
       avg(CASE WHEN events = 1 THEN 1.0 ELSE 0.0 END) AS bounce_rate,
       avg(CASE WHEN converted THEN 1.0 ELSE 0.0 END) AS conversion_rate,
       avg(CASE WHEN session_inferred THEN 1.0 ELSE 0.0 END) AS inferred_share
FROM dims
GROUP BY dimension, value
ORDER BY dimension, sessions DESC, value
