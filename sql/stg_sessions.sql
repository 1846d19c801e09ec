-- stg_sessions: one row per session. A session is a touchpoint: its channel, campaign and
-- device are those of its first event.
--
-- Columns: customer_id, session_id, session_start, session_end (TIMESTAMP, UTC), channel,
-- campaign, device, events (BIGINT), duration_seconds (DOUBLE), converted (BOOLEAN: the
-- session holds a $conversion_event event), session_inferred (BOOLEAN).
SELECT
    customer_id,
    session_id,
    min(event_time) AS session_start,
    max(event_time) AS session_end,
    COALESCE(first_value(channel ORDER BY event_time, event_id), '(none)') AS channel,
    first_value(campaign ORDER BY event_time, event_id) AS campaign,
    first_value(device ORDER BY event_time, event_id) AS device,
    count(*) AS events,
    date_part('epoch', max(event_time)) - date_part('epoch', min(event_time)) AS duration_seconds,
    bool_or(event_name = $conversion_event) AS converted,
    bool_or(session_inferred) AS session_inferred
FROM stg_events
GROUP BY customer_id, session_id
