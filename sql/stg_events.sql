-- stg_events: the events export, cleaned. One row per event_id, every row in a session.
--
-- 1. De-duplication: exports repeat rows; one row per event_id is kept. Exact repeats are
--    dropped by stg_events_distinct; if an event_id comes with different contents, its
--    earliest row is kept (then the lowest session id).
-- 2. Only events before the end of the as-of day ($as_of_end, report time zone) count, so a
--    backfill for an earlier date sees what it would have seen that night.
-- 3. Sessionization: an event with a session_id keeps it. Events without one (a tracker that
--    lost it) are grouped per customer: a new session starts at the customer's first such
--    event, after every gap longer than $session_gap_minutes (GA's 30-minute rule) and, when
--    $session_split_on_campaign (default true, as GA), at every change of channel or
--    campaign; they get the id '<customer_id>#<n>'. The export's own sessions are never
--    merged with inferred ones.
--
-- Columns: event_id, customer_id, event_time (TIMESTAMP, UTC), event_name, channel,
-- campaign, device, session_id, session_inferred (BOOLEAN).
WITH copies AS (
    SELECT event_id, count(*) AS versions FROM stg_events_distinct GROUP BY event_id
),
dedup AS (
    SELECT d.*
    FROM stg_events_distinct d JOIN copies c ON c.event_id = d.event_id
    WHERE c.versions = 1
    UNION ALL
    -- An event_id written with different contents (rare): its earliest row, then the lowest
    -- session id.
    SELECT event_id, customer_id, event_time, event_name, channel, campaign, device, session_id
    FROM (
        SELECT d.*, row_number() OVER (PARTITION BY d.event_id ORDER BY d.event_time, d.session_id, d.customer_id, d.event_name) AS version
        FROM stg_events_distinct d JOIN copies c ON c.event_id = d.event_id
        WHERE c.versions > 1
    ) v
    WHERE version = 1
),
gaps AS (
    SELECT *,
        CASE
            WHEN session_id IS NOT NULL THEN 0
            WHEN lag(event_time) OVER w IS NULL THEN 1
            WHEN date_part('epoch', event_time) - date_part('epoch', lag(event_time) OVER w)
                 > $session_gap_minutes * 60 THEN 1
            -- GA starts a new session when the traffic source changes mid-visit.
            WHEN $session_split_on_campaign
                 AND ((lag(channel) OVER w IS DISTINCT FROM channel)
                      OR (lag(campaign) OVER w IS DISTINCT FROM campaign)) THEN 1
            ELSE 0
        END AS starts_session
    FROM dedup
    WINDOW w AS (PARTITION BY customer_id, session_id IS NULL ORDER BY event_time, event_id)
),
numbered AS (
    SELECT *,
        sum(starts_session) OVER (
            PARTITION BY customer_id, session_id IS NULL
            ORDER BY event_time, event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS inferred_n
    FROM gaps
)
SELECT
    event_id,
    customer_id,
    event_time,
    event_name,
    channel,
    campaign,
    device,
    COALESCE(session_id, customer_id || '#' || CAST(inferred_n AS VARCHAR)) AS session_id,
    session_id IS NULL AS session_inferred
FROM numbered
