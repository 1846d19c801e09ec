-- stg_customer_touch: per customer and period, the attributes the funnel breakdown reads —
-- the channel of the customer's first touchpoint (their first session ever) and the device of
-- their first session in the period ('current': from $period_start; 'previous': the
-- $period_days days before). Sessions are ordered by start, then session id. Kept apart from
-- stg_funnel_customers so that each of the two runs with fewer operators holding memory at
-- once (at 100 million events they share one --memory-limit). The model keeps the name
-- "customer_touch" although the term is touchpoint: it names its data file,
-- data/stg_customer_touch.parquet, which downstream readers open by name.
--
-- Columns: period (VARCHAR), customer_id (VARCHAR), first_touch_channel (VARCHAR: the channel
-- of the first touchpoint, the one the first-touch attribution model credits), device
-- (VARCHAR; NULL when the customer had no session in the period).
-- Rows ordered by customer_id, period ((customer_id, period) is unique): its data file is the
-- same on every run.
WITH first_touchpoint AS (
    SELECT customer_id,
           arg_min(channel, session_start, session_id) AS first_touch_channel
    FROM stg_sessions
    GROUP BY customer_id
),
device AS (
    SELECT CASE WHEN session_start >= $period_start THEN 'current' ELSE 'previous' END AS period,
           customer_id,
           arg_min(device, session_start, session_id) AS device
    FROM stg_sessions
    WHERE session_start >= $previous_period_start
    GROUP BY 1, 2
)
SELECT p.period, t.customer_id, t.first_touch_channel, d.device
FROM first_touchpoint t
CROSS JOIN (SELECT 'current' AS period UNION ALL SELECT 'previous') p
LEFT JOIN device d ON d.customer_id = t.customer_id AND d.period = p.period
ORDER BY customer_id, period
