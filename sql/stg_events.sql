-- stg_events: the events export, cleaned. One row per event_id, every row in a session.
--
-- 1. De-duplication (stg_events_distinct): one row per event_id; exact repeats collapse, and
--    an event_id that comes with different contents keeps its earliest row.
-- 2. Only events before the end of the as-of day ($as_of_end, report time zone) count, so a
--    backfill for an earlier date sees what it would have seen that night.
-- 3. Sessionization: an event with a session_id keeps it. Events without one (a tracker that
--    lost it) are grouped per customer: a new session starts at the customer's first such
--    event, after every gap longer than $session_gap_minutes (GA's 30-minute rule) and, when
--    $session_split_on_campaign (default true, as GA), at every change of channel or
--    campaign; they get the id '<customer_id>#<n>'. The export's own sessions are never
--    merged with inferred ones.
--
-- Only the events without a session id go through the window functions (they sort the rows
-- of each customer); the others pass straight through.
--
-- Columns: event_id, customer_id, event_time (TIMESTAMP, UTC), event_name, channel,
-- campaign, device, session_id, session_inferred (BOOLEAN).
WITH gaps AS (
    SELECT *,
        CASE
            WHEN lag(event_time) OVER w IS NULL THEN 1
            WHEN date_part('epoch', event_time) - date_part('epoch', lag(event_time) OVER w)
                 > $session_gap_minutes * 60 THEN 1
            -- GA starts a new session when the traffic source changes mid-visit.
            WHEN $session_split_on_campaign
                 AND ((lag(channel) OVER w IS DISTINCT FROM channel)
                      OR (lag(campaign) OVER w IS DISTINCT FROM campaign)) THEN 1
            ELSE 0
        END AS starts_session
    FROM stg_events_distinct
    WHERE session_id IS NULL
    WINDOW w AS (PARTITION BY customer_id ORDER BY event_time, event_id)
),
numbered AS (
    SELECT *,
        sum(starts_session) OVER (
            PARTITION BY customer_id
            ORDER BY event_time, event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS inferred_n
    FROM gaps
)
SELECT event_id, customer_id, event_time, event_name, channel, campaign, device,
       session_id, false AS session_inferred
FROM stg_events_distinct
WHERE session_id IS NOT NULL
UNION ALL
SELECT event_id, customer_id, event_time, event_name, channel, campaign, device,
       customer_id || '#' || CAST(inferred_n AS VARCHAR) AS session_id,
       true AS session_inferred
FROM numbered
