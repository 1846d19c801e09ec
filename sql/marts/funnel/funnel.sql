-- funnel: the ordered funnel of journey.toml over the report period, one row per stage.
--
-- Closed funnel (customers): customers whose deepest chain (the funnel stages reached,
-- stg_funnel_customers.level: ClickHouse windowFunnel default mode, a
-- $conversion_window_days-day window from the stage-1 event, inclusive) reached the stage.
-- Open funnel (open_customers): customers with any event of the stage in the period, in any
-- order — what a funnel without an entry condition counts.
-- previous_customers: the closed funnel of the $period_days days before.
--
-- Columns: stage_index (BIGINT), stage (VARCHAR), customers (BIGINT), step_conversion (DOUBLE:
-- conversion from the previous funnel stage, the share of its customers who reached this one;
-- 1 for stage 1; the column keeps the name "step_conversion" because it is a column of the
-- data file data/funnel.csv), overall_conversion (DOUBLE: share of stage 1), drop_off
-- (BIGINT: customers of the previous stage who did not reach this one),
-- drop_off_rate (DOUBLE), median_seconds_from_previous and p90_seconds_from_previous (DOUBLE,
-- exact and interpolated as PostgreSQL's percentile_cont, so a run repeats to the digit;
-- NULL for stage 1), open_customers (BIGINT), previous_customers (BIGINT),
-- previous_overall_conversion (DOUBLE).
WITH stages AS (
    SELECT DISTINCT stage_index, stage FROM funnel_stages
),
reached AS (
    SELECT s.stage_index, p.period, p.customer_id,
           CASE WHEN s.stage_index > 1 THEN
               date_part('epoch', array_element(p.stage_times, s.stage_index))
             - date_part('epoch', array_element(p.stage_times, s.stage_index - 1))
           END AS seconds_from_previous
    FROM stg_funnel_customers p
    JOIN stages s ON p.level >= s.stage_index
),
counts AS (
    SELECT s.stage_index, s.stage,
           count(CASE WHEN r.period = 'current' THEN r.customer_id END) AS customers,
           count(CASE WHEN r.period = 'previous' THEN r.customer_id END) AS previous_customers,
           median(CASE WHEN r.period = 'current' THEN r.seconds_from_previous END) AS median_seconds_from_previous,
           percentile_cont(0.9) WITHIN GROUP (
               ORDER BY CASE WHEN r.period = 'current' THEN r.seconds_from_previous END
           ) AS p90_seconds_from_previous
    FROM stages s
    LEFT JOIN reached r ON r.stage_index = s.stage_index
    GROUP BY s.stage_index, s.stage
),
open_funnel AS (
    SELECT f.stage_index, count(DISTINCT e.customer_id) AS open_customers
    FROM stg_events e
    JOIN funnel_stages f ON f.event_name = e.event_name
    WHERE e.event_time >= $period_start
    GROUP BY f.stage_index
)
SELECT
    c.stage_index,
    c.stage,
    c.customers,
    CASE WHEN c.stage_index = 1 THEN 1.0
         ELSE CAST(c.customers AS DOUBLE) / NULLIF(lag(c.customers) OVER (ORDER BY c.stage_index), 0) END AS step_conversion,
    CAST(c.customers AS DOUBLE) / NULLIF(first_value(c.customers) OVER (ORDER BY c.stage_index), 0) AS overall_conversion,
    COALESCE(lag(c.customers) OVER (ORDER BY c.stage_index) - c.customers, 0) AS drop_off,
    CASE WHEN c.stage_index = 1 THEN 0.0
         ELSE 1.0 - CAST(c.customers AS DOUBLE) / NULLIF(lag(c.customers) OVER (ORDER BY c.stage_index), 0) END AS drop_off_rate,
    c.median_seconds_from_previous,
    c.p90_seconds_from_previous,
    COALESCE(o.open_customers, 0) AS open_customers,
    c.previous_customers,
    CAST(c.previous_customers AS DOUBLE) / NULLIF(first_value(c.previous_customers) OVER (ORDER BY c.stage_index), 0) AS previous_overall_conversion
FROM counts c
LEFT JOIN open_funnel o ON o.stage_index = c.stage_index
ORDER BY c.stage_index
