-- funnel (sql/marts/funnel/funnel.sql + sql/intermediate/stg_funnel_customers.sql): ClickHouse windowFunnel default
-- mode in plain DuckDB SQL. Every stage-1 event starts a chain; each next stage is the
-- customer's earliest event of that stage at or after the previous stage's time (ASOF JOIN),
-- and must lie within $conversion_window_days days of the stage-1 event (inclusive). Taking
-- the earliest next event is optimal, so the funnel stages a customer reached (ClickHouse's
-- level) are the deepest stage any of their chains reaches. A chain stays inside its period
-- ('current': from $period_start; 'previous': the $period_days days before). Written for the
-- 5 stages of journey.toml (table funnel_stages, made by the runner from [funnel]).
-- Columns as sql/marts/funnel/funnel.sql except the stage-time columns (median/p90 seconds).
WITH ev AS (
    SELECT CASE WHEN e.event_time >= $period_start THEN 'current' ELSE 'previous' END AS period,
           e.customer_id, e.event_time AS t, f.stage_index AS stage
    FROM stg_events e
    JOIN funnel_stages f ON f.event_name = e.event_name
    WHERE e.event_time >= $previous_period_start
),
s2 AS (SELECT period, customer_id, t FROM ev WHERE stage = 2),
s3 AS (SELECT period, customer_id, t FROM ev WHERE stage = 3),
s4 AS (SELECT period, customer_id, t FROM ev WHERE stage = 4),
s5 AS (SELECT period, customer_id, t FROM ev WHERE stage = 5),
c1 AS (
    SELECT period, customer_id, t AS t1, t AS tk
    FROM ev WHERE stage = 1
),
c2 AS (
    SELECT c.period, c.customer_id, c.t1, s.t AS tk
    FROM c1 c ASOF JOIN s2 s
      ON s.period = c.period AND s.customer_id = c.customer_id AND s.t >= c.tk
    WHERE s.t <= c.t1 + INTERVAL ($conversion_window_days) DAY
),
c3 AS (
    SELECT c.period, c.customer_id, c.t1, s.t AS tk
    FROM c2 c ASOF JOIN s3 s
      ON s.period = c.period AND s.customer_id = c.customer_id AND s.t >= c.tk
    WHERE s.t <= c.t1 + INTERVAL ($conversion_window_days) DAY
),
c4 AS (
    SELECT c.period, c.customer_id, c.t1, s.t AS tk
    FROM c3 c ASOF JOIN s4 s
      ON s.period = c.period AND s.customer_id = c.customer_id AND s.t >= c.tk
    WHERE s.t <= c.t1 + INTERVAL ($conversion_window_days) DAY
),
c5 AS (
    SELECT c.period, c.customer_id, c.t1, s.t AS tk
    FROM c4 c ASOF JOIN s5 s
      ON s.period = c.period AND s.customer_id = c.customer_id AND s.t >= c.tk
    WHERE s.t <= c.t1 + INTERVAL ($conversion_window_days) DAY
),
reached AS (
    SELECT period, customer_id, max(stages_reached) AS stages_reached FROM (
        SELECT period, customer_id, 1 AS stages_reached FROM c1
        UNION ALL SELECT period, customer_id, 2 FROM c2
        UNION ALL SELECT period, customer_id, 3 FROM c3
        UNION ALL SELECT period, customer_id, 4 FROM c4
        UNION ALL SELECT period, customer_id, 5 FROM c5
    ) GROUP BY ALL
),
stages AS (SELECT DISTINCT stage_index, stage FROM funnel_stages),
counts AS (
    SELECT s.stage_index, s.stage,
           count(*) FILTER (WHERE l.period = 'current') AS customers,
           count(*) FILTER (WHERE l.period = 'previous') AS previous_customers
    FROM stages s LEFT JOIN reached l ON l.stages_reached >= s.stage_index
    GROUP BY s.stage_index, s.stage
),
open_funnel AS (
    SELECT f.stage_index, count(DISTINCT e.customer_id) AS open_customers
    FROM stg_events e JOIN funnel_stages f ON f.event_name = e.event_name
    WHERE e.event_time >= $period_start
    GROUP BY f.stage_index
)
SELECT
    c.stage_index,
    c.stage,
    c.customers,
    -- step_conversion: conversion from the previous funnel stage (data/funnel.csv's name)
    CASE WHEN c.stage_index = 1 THEN 1.0
         ELSE c.customers / NULLIF(lag(c.customers) OVER w, 0) END AS step_conversion,
    c.customers / NULLIF(first_value(c.customers) OVER w, 0) AS overall_conversion,
    COALESCE(lag(c.customers) OVER w - c.customers, 0) AS drop_off,
    CASE WHEN c.stage_index = 1 THEN 0.0
         ELSE 1.0 - c.customers / NULLIF(lag(c.customers) OVER w, 0) END AS drop_off_rate,
    COALESCE(o.open_customers, 0) AS open_customers,
    c.previous_customers,
    c.previous_customers / NULLIF(first_value(c.previous_customers) OVER w, 0) AS previous_overall_conversion
FROM counts c
LEFT JOIN open_funnel o ON o.stage_index = c.stage_index
WINDOW w AS (ORDER BY c.stage_index)
ORDER BY c.stage_index
