-- paths (sql/marts/paths/paths.sql over sql/intermediate/stg_journeys.sql): the top
-- $top_paths channel paths, repeats of the same channel in a row collapsed. Converting
-- journeys: the touchpoints of each completed order of the period; non-converting: customers
-- without a completed order in the period, their sessions in the $non_converting_window_days
-- days up to the end of the as-of day (both ends inclusive; by default the report period).
WITH conv_steps AS (
    SELECT order_id AS journey_id, channel, amount, position AS pos
    FROM stg_order_touchpoints
    QUALIFY channel IS DISTINCT FROM lag(channel) OVER (PARTITION BY order_id ORDER BY position)
),
conv AS (
    SELECT string_agg(channel, ' > ' ORDER BY pos) AS path, count(*) AS touchpoints,
           max(amount) AS revenue
    FROM conv_steps GROUP BY journey_id
),
buyers AS (
    SELECT DISTINCT customer_id FROM stg_orders WHERE completed AND order_time >= $period_start
),
nonconv_steps AS (
    SELECT s.customer_id, s.channel, s.session_start, s.session_id
    FROM stg_sessions s ANTI JOIN buyers b ON b.customer_id = s.customer_id
    WHERE s.session_start < $as_of_end
      AND epoch($as_of_end) - epoch(s.session_start) <= $non_converting_window_days * 86400
    QUALIFY s.channel IS DISTINCT FROM
            lag(s.channel) OVER (PARTITION BY s.customer_id ORDER BY s.session_start, s.session_id)
),
nonconv AS (
    SELECT path, count(*) AS non_conversions
    FROM (SELECT string_agg(channel, ' > ' ORDER BY session_start, session_id) AS path
          FROM nonconv_steps GROUP BY customer_id)
    GROUP BY path
),
conv_paths AS (
    SELECT path, any_value(touchpoints) AS touchpoints, count(*) AS conversions, sum(revenue) AS revenue
    FROM conv GROUP BY path
)
SELECT c.path, c.touchpoints, c.conversions, c.revenue,
       COALESCE(n.non_conversions, 0) AS non_conversions,
       c.conversions / (c.conversions + COALESCE(n.non_conversions, 0)) AS conversion_rate,
       c.conversions / sum(c.conversions) OVER () AS share_of_conversions
FROM conv_paths c
LEFT JOIN nonconv n ON n.path = c.path
ORDER BY c.conversions DESC, c.revenue DESC, c.path
LIMIT $top_paths
