-- stg_funnel_customers: one row per customer and period who had a stage-1 … stage-N event of
-- the ordered funnel of journey.toml ([funnel] stages → table funnel_stages).
--
-- Periods: 'current' = events from $period_start to the end of the as-of day; 'previous' =
-- the $period_days days before ($previous_period_start … $period_start). A chain must
-- finish inside its period.
--
-- stage_times: funnel_stage_times() — ClickHouse windowFunnel semantics, default mode: when
-- each funnel stage of the deepest chain was reached, the stages in order and the last within
-- $conversion_window_days days of the stage-1 event (inclusive); equal timestamps count in
-- stage order. An event whose name belongs to several stages counts for each. level: the
-- number of funnel stages reached (the index of the deepest one), the length of stage_times —
-- what window_funnel(…, '', …) returns (ClickHouse calls it the level), without computing the
-- funnel twice. For another mode, take the stages reached from e.g.
-- window_funnel($conversion_window_days * 86400, 'strict_order', event_time, stage_index)
-- instead (stage_times stay in the default mode).
--
-- Columns: period (VARCHAR), customer_id, level (BIGINT, 0–N: the funnel stages reached; 0 =
-- never had a stage-1 event in the period; the column keeps ClickHouse's name "level" because
-- it is a column of the data file data/stg_funnel_customers.parquet), stage_times
-- (LIST<TIMESTAMP>, UTC), first_touch_channel (VARCHAR: channel of the customer's first
-- touchpoint, their first session ever), device (VARCHAR: of their first session in the
-- period), signup_cohort (DATE: first day of the sign-up month in the report time zone; NULL
-- when the customer is missing from the CRM). The first touchpoint's channel and the device
-- come from stg_customer_touch.
-- Rows ordered by period, customer_id ((period, customer_id) is unique): its data file is the
-- same on every run.
WITH events AS (
    SELECT CASE WHEN e.event_time >= $period_start THEN 'current' ELSE 'previous' END AS period,
           e.customer_id, e.event_time, f.stage_index
    FROM stg_events e
    JOIN funnel_stages f ON f.event_name = e.event_name
    WHERE e.event_time >= $previous_period_start
),
per_customer AS (
    SELECT period, customer_id,
           funnel_stage_times(event_time, stage_index, $conversion_window_days * 86400) AS stage_times
    FROM events
    GROUP BY period, customer_id
)
SELECT p.period, p.customer_id, CAST(cardinality(p.stage_times) AS BIGINT) AS level, p.stage_times,
       COALESCE(t.first_touch_channel, '(none)') AS first_touch_channel,
       COALESCE(t.device, '(unknown)') AS device,
       CAST(date_trunc('month', local_time(c.signup_at, $report_tz)) AS DATE) AS signup_cohort
FROM per_customer p
LEFT JOIN stg_customer_touch t ON t.customer_id = p.customer_id AND t.period = p.period
LEFT JOIN stg_customers c ON c.customer_id = p.customer_id
ORDER BY period, customer_id
