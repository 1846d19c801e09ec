-- stg_sessions: one row per session. A session is a touchpoint: its channel, campaign and
-- device are those of its first event.
--
-- Columns: customer_id, session_id, session_start, session_end (TIMESTAMP, UTC), channel,
-- campaign, device, events (BIGINT), duration_seconds (DOUBLE), converted (BOOLEAN: the
-- session holds a $conversion_event event), session_inferred (BOOLEAN).
-- arg_min (a journey-report function) takes the first event's attributes in one pass, as
-- first_value(… ORDER BY event_time, event_id) would.
-- Rows ordered by customer_id, session_start, session_id ((customer_id, session_id) is
-- unique): its data file is the same on every run.
WITH grouped AS (
    SELECT
        customer_id,
        session_id,
        min(event_time) AS session_start,
        max(event_time) AS session_end,
        arg_min(named_struct('channel', channel, 'campaign', campaign, 'device', device),
                event_time, event_id) AS first_event,
        count(*) AS events,
        bool_or(event_name = $conversion_event) AS converted,
        bool_or(session_inferred) AS session_inferred
    FROM stg_events
    GROUP BY customer_id, session_id
)
SELECT
    customer_id,
    session_id,
    session_start,
    session_end,
    COALESCE(first_event['channel'], '(none)') AS channel,
    first_event['campaign'] AS campaign,
    first_event['device'] AS device,
    events,
    date_part('epoch', session_end) - date_part('epoch', session_start) AS duration_seconds,
    converted,
    session_inferred
FROM grouped
ORDER BY customer_id, session_start, session_id
