-- funnel_dropoff: the customers who dropped out of the funnel in the report period — those
-- whose deepest chain (stg_funnel_customers, period 'current') reached stage k but not
-- stage k+1 — one row per customer, for follow-up. journey.toml splits it by dropoff_file,
-- so each stage's list is also data/dropoff_<stage>.csv.
--
-- last_event: the customer's last event in the period at or after reaching stage k (what
-- they did before they left); hour and weekday in $report_tz; seconds_since: from it to the
-- end of the as-of day.
--
-- Columns: stage_index (BIGINT, k), stage, next_stage (VARCHAR), dropoff_file (VARCHAR,
-- 'dropoff_<stage slug>'), customer_id, email, full_name (VARCHAR; NULL when missing from
-- the CRM), reached_at (TIMESTAMP, UTC), last_event_name, last_channel, last_device
-- (VARCHAR), last_event_at (TIMESTAMP, UTC), last_event_hour (BIGINT, 0–23 local),
-- last_event_weekday (BIGINT, 1 = Monday … 7 = Sunday), seconds_since (DOUBLE), customers
-- (BIGINT, always 1: sums to a count in charts).
WITH stages AS (
    SELECT DISTINCT stage_index, stage FROM funnel_stages
),
dropped AS (
    SELECT p.customer_id, p.level AS stage_index,
           array_element(p.stage_times, p.level) AS reached_at
    FROM stg_funnel_customers p
    WHERE p.period = 'current'
      AND p.level >= 1
      AND p.level < (SELECT max(stage_index) FROM funnel_stages)
),
last_event AS (
    SELECT d.customer_id,
           last_value(e.event_name ORDER BY e.event_time, e.event_id) AS last_event_name,
           last_value(e.channel ORDER BY e.event_time, e.event_id) AS last_channel,
           last_value(e.device ORDER BY e.event_time, e.event_id) AS last_device,
           max(e.event_time) AS last_event_at
    FROM dropped d
    JOIN stg_events e ON e.customer_id = d.customer_id AND e.event_time >= d.reached_at
    GROUP BY d.customer_id
)
SELECT
    d.stage_index,
    s.stage,
    n.stage AS next_stage,
    'dropoff_' || trim(BOTH '_' FROM regexp_replace(lower(s.stage), '[^a-z0-9]+', '_', 'g')) AS dropoff_file,
    d.customer_id,
    c.email,
    c.full_name,
    d.reached_at,
    l.last_event_name,
    l.last_channel,
    l.last_device,
    l.last_event_at,
    CAST(date_part('hour', local_time(l.last_event_at, $report_tz)) AS BIGINT) AS last_event_hour,
    CAST((CAST(date_part('dow', local_time(l.last_event_at, $report_tz)) AS BIGINT) + 6) % 7 + 1 AS BIGINT) AS last_event_weekday,
    date_part('epoch', $as_of_end) - date_part('epoch', l.last_event_at) AS seconds_since,
    CAST(1 AS BIGINT) AS customers
FROM dropped d
JOIN stages s ON s.stage_index = d.stage_index
JOIN stages n ON n.stage_index = d.stage_index + 1
LEFT JOIN last_event l ON l.customer_id = d.customer_id
LEFT JOIN stg_customers c ON c.customer_id = d.customer_id
ORDER BY d.stage_index, l.last_event_at DESC, d.customer_id
