-- funnel_dropoff_summary: what the drop-offs of each stage (funnel_dropoff) have in common —
-- per stage, the mix of their last event, channel and device, and their hour/weekday pattern.
--
-- Columns: stage_index (BIGINT), stage, next_stage (VARCHAR), dimension (VARCHAR:
-- 'last_event', 'channel', 'device', 'weekday', 'hour'), value (VARCHAR), customers
-- (BIGINT), share (DOUBLE: of the stage's drop-offs), median_days_since (DOUBLE: median
-- days since their last event, the same on every row of a stage).
WITH d AS (SELECT * FROM funnel_dropoff),
dims AS (
    SELECT stage_index, stage, next_stage, 'last_event' AS dimension, COALESCE(last_event_name, '(none)') AS value, customer_id FROM d
    UNION ALL SELECT stage_index, stage, next_stage, 'channel', COALESCE(last_channel, '(none)'), customer_id FROM d
    UNION ALL SELECT stage_index, stage, next_stage, 'device', COALESCE(last_device, '(unknown)'), customer_id FROM d
    UNION ALL SELECT stage_index, stage, next_stage, 'weekday', CAST(last_event_weekday AS VARCHAR), customer_id FROM d
    UNION ALL SELECT stage_index, stage, next_stage, 'hour', lpad(CAST(last_event_hour AS VARCHAR), 2, '0'), customer_id FROM d
),
since AS (
    SELECT stage_index, median(seconds_since) / 86400.0 AS median_days_since FROM d GROUP BY stage_index
)
SELECT x.stage_index, x.stage, x.next_stage, x.dimension, x.value,
       count(*) AS customers,
       CAST(count(*) AS DOUBLE) / sum(count(*)) OVER (PARTITION BY x.stage_index, x.dimension) AS share,
       s.median_days_since
FROM dims x JOIN since s ON s.stage_index = x.stage_index
GROUP BY x.stage_index, x.stage, x.next_stage, x.dimension, x.value, s.median_days_since
ORDER BY x.stage_index, x.dimension, customers DESC, x.value
