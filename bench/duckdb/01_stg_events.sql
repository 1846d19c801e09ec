-- stg_events (sql/staging/stg_events_distinct.sql + sql/staging/stg_events.sql in one pass).
-- 1. One row per event_id: the earliest row, then the lowest session id (exact repeated rows
--    are identical, so picking one of them is what DISTINCT + row_number would give).
-- 2. Events before the end of the as-of day only; rows without event_id, customer_id or
--    event_time dropped.
-- 3. Sessionization of events without a session_id, per customer: a new session at the first
--    such event, after a gap > $session_gap_minutes, and (when $session_split_on_campaign) at
--    a change of channel or campaign; id '<customer_id>#<n>'. Only the rows that need it go
--    through the window (events with a session_id keep theirs).
WITH dedup AS (
    SELECT event_id, customer_id, event_time, event_name, channel, campaign, device, session_id
    FROM events
    WHERE event_time < $as_of_end
      AND event_id IS NOT NULL
      AND customer_id IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY event_id ORDER BY event_time, session_id, customer_id, event_name) = 1
),
unsessioned AS (
    SELECT *,
        CASE
            WHEN lag(event_time) OVER w IS NULL THEN 1
            WHEN epoch(event_time) - epoch(lag(event_time) OVER w) > $session_gap_minutes * 60 THEN 1
            WHEN $session_split_on_campaign
                 AND (lag(channel) OVER w IS DISTINCT FROM channel
                      OR lag(campaign) OVER w IS DISTINCT FROM campaign) THEN 1
            ELSE 0
        END AS starts_session
    FROM dedup
    WHERE session_id IS NULL
    WINDOW w AS (PARTITION BY customer_id ORDER BY event_time, event_id)
)
SELECT event_id, customer_id, event_time, event_name, channel, campaign, device, session_id,
       false AS session_inferred
FROM dedup
WHERE session_id IS NOT NULL
UNION ALL
SELECT event_id, customer_id, event_time, event_name, channel, campaign, device,
       customer_id || '#' || CAST(sum(starts_session) OVER (
           PARTITION BY customer_id ORDER BY event_time, event_id
           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS VARCHAR) AS session_id,
       true AS session_inferred
FROM unsessioned
