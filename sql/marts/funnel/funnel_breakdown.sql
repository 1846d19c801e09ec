-- funnel_breakdown: the closed funnel of the report period (stg_funnel_customers, period
-- 'current') broken down by first-touch channel (the channel of the customer's first
-- touchpoint), device, and sign-up cohort (month). stages_reached: the funnel stages a
-- customer reached (stg_funnel_customers.level).
--
-- Columns: dimension (VARCHAR: 'first_touch_channel', 'device' or 'signup_cohort'), segment
-- (VARCHAR), entered (BIGINT: customers who reached stage 1), completed (BIGINT: customers
-- who reached the last stage), conversion (DOUBLE: completed / entered).
WITH last_stage AS (SELECT max(stage_index) AS n FROM funnel_stages),
c AS (
    SELECT p.*, l.n FROM stg_funnel_customers p CROSS JOIN last_stage l
    WHERE p.period = 'current' AND p.level >= 1
),
dims AS (
    SELECT 'first_touch_channel' AS dimension, first_touch_channel AS segment,
           level AS stages_reached, n
    FROM c
    UNION ALL
    SELECT 'device', device, level, n FROM c
    UNION ALL
    SELECT 'signup_cohort', COALESCE(CAST(signup_cohort AS VARCHAR), '(not in CRM)'), level, n FROM c
)
SELECT dimension, segment,
       count(*) AS entered,
       sum(CASE WHEN stages_reached >= n THEN 1 ELSE 0 END) AS completed,
       CAST(sum(CASE WHEN stages_reached >= n THEN 1 ELSE 0 END) AS DOUBLE) / count(*) AS conversion
FROM dims
GROUP BY dimension, segment
ORDER BY dimension, entered DESC, segment
