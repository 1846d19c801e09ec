-- stg_sessions (sql/intermediate/stg_sessions.sql): one row per session; channel, campaign and device of
-- its first event (by event_time, event_id), taken together by one arg_min over a struct.
SELECT
    customer_id,
    session_id,
    session_start,
    session_end,
    COALESCE(first_event.channel, '(none)') AS channel,
    first_event.campaign AS campaign,
    first_event.device AS device,
    events,
    duration_seconds,
    converted,
    session_inferred
FROM (
    SELECT
        customer_id,
        session_id,
        min(event_time) AS session_start,
        max(event_time) AS session_end,
        arg_min({'channel': channel, 'campaign': campaign, 'device': device},
                (event_time, event_id)) AS first_event,
        count(*) AS events,
        epoch(max(event_time)) - epoch(min(event_time)) AS duration_seconds,
        bool_or(event_name = $conversion_event) AS converted,
        bool_or(session_inferred) AS session_inferred
    FROM stg_events
    GROUP BY customer_id, session_id
)
