-- paths: the top $top_paths channel paths, with consecutive repeats collapsed
-- (social > social > email becomes social > email).
--
-- Converting paths: one per completed order in the report period — its customer's
-- touchpoints (sessions) in the $lookback_days days before the order (stg_order_touchpoints).
-- Non-converting paths: one per customer with sessions in the report period and no completed
-- order in it — their sessions in the $lookback_days days before the end of the as-of day.
-- conversion_rate = conversions / (conversions + non_conversions) for the same path.
--
-- Columns: path (VARCHAR, 'a > b > c'), touchpoints (BIGINT, channels in the collapsed path),
-- conversions, revenue (DOUBLE), non_conversions, conversion_rate, share_of_conversions (DOUBLE).
WITH converting AS (
    SELECT order_id,
           array_to_string(path_collapse(array_agg(channel ORDER BY position)), ' > ') AS path,
           max(amount) AS revenue
    FROM stg_order_touchpoints
    GROUP BY order_id
),
buyers AS (
    SELECT DISTINCT customer_id FROM stg_orders WHERE completed AND order_time >= $period_start
),
non_converting AS (
    SELECT s.customer_id,
           array_to_string(path_collapse(array_agg(s.channel ORDER BY s.session_start, s.session_id)), ' > ') AS path
    FROM stg_sessions s
    WHERE s.session_start >= $period_start
      AND date_part('epoch', $as_of_end) - date_part('epoch', s.session_start) <= $lookback_days * 86400
      AND s.customer_id NOT IN (SELECT customer_id FROM buyers)
    GROUP BY s.customer_id
),
conv AS (
    SELECT path, count(*) AS conversions, sum(revenue) AS revenue FROM converting GROUP BY path
),
nonconv AS (
    SELECT path, count(*) AS non_conversions FROM non_converting GROUP BY path
),
total AS (SELECT count(*) AS n FROM converting)
SELECT
    c.path,
    CAST(array_length(string_to_array(c.path, ' > ')) AS BIGINT) AS touchpoints,
    c.conversions,
    c.revenue,
    COALESCE(n.non_conversions, 0) AS non_conversions,
    CAST(c.conversions AS DOUBLE) / (c.conversions + COALESCE(n.non_conversions, 0)) AS conversion_rate,
    CAST(c.conversions AS DOUBLE) / t.n AS share_of_conversions
FROM conv c
LEFT JOIN nonconv n ON n.path = c.path
CROSS JOIN total t
ORDER BY c.conversions DESC, c.revenue DESC, c.path
LIMIT $top_paths
