-- funnel: the ordered funnel of journey.toml ([funnel] stages → table funnel_stages) over
-- the report period.
--
-- Per customer, funnel_stage_times() follows ClickHouse windowFunnel's default mode: stages
-- in time order, each after the previous one, the last within $conversion_window_days days
-- of the stage-1 event (inclusive); equal times count in stage order. Events from
-- $period_start on count (a chain may finish after the period only if before $as_of_end).
--
-- Columns: stage_index (BIGINT), stage (VARCHAR), customers (BIGINT reaching the stage),
-- step_conversion (DOUBLE: share of the previous stage's customers; 1 for stage 1),
-- overall_conversion (DOUBLE: share of stage 1), drop_off (BIGINT: customers of the previous
-- stage who did not reach this one), drop_off_rate (DOUBLE), median_seconds_from_previous and
-- p90_seconds_from_previous (DOUBLE, NULL for stage 1).
WITH stages AS (
    SELECT DISTINCT stage_index, stage FROM funnel_stages
),
per_customer AS (
    SELECT e.customer_id,
           funnel_stage_times(e.event_time, f.stage_index, $conversion_window_days * 86400) AS t
    FROM stg_events e
    JOIN funnel_stages f ON f.event_name = e.event_name
    WHERE e.event_time >= $period_start
    GROUP BY e.customer_id
),
reached AS (
    SELECT s.stage_index, p.customer_id,
           CASE WHEN s.stage_index > 1 THEN
               date_part('epoch', array_element(p.t, s.stage_index))
             - date_part('epoch', array_element(p.t, s.stage_index - 1))
           END AS seconds_from_previous
    FROM per_customer p
    JOIN stages s ON CAST(array_length(p.t) AS BIGINT) >= s.stage_index
),
counts AS (
    SELECT s.stage_index, s.stage,
           count(r.customer_id) AS customers,
           median(r.seconds_from_previous) AS median_seconds_from_previous,
           approx_percentile_cont(r.seconds_from_previous, 0.9) AS p90_seconds_from_previous
    FROM stages s
    LEFT JOIN reached r ON r.stage_index = s.stage_index
    GROUP BY s.stage_index, s.stage
)
SELECT
    stage_index,
    stage,
    customers,
    CASE WHEN stage_index = 1 THEN 1.0
         ELSE CAST(customers AS DOUBLE) / NULLIF(lag(customers) OVER (ORDER BY stage_index), 0) END AS step_conversion,
    CAST(customers AS DOUBLE) / NULLIF(first_value(customers) OVER (ORDER BY stage_index), 0) AS overall_conversion,
    COALESCE(lag(customers) OVER (ORDER BY stage_index) - customers, 0) AS drop_off,
    CASE WHEN stage_index = 1 THEN 0.0
         ELSE 1.0 - CAST(customers AS DOUBLE) / NULLIF(lag(customers) OVER (ORDER BY stage_index), 0) END AS drop_off_rate,
    median_seconds_from_previous,
    p90_seconds_from_previous
FROM counts
ORDER BY stage_index
