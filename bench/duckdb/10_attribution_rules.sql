-- attribution_rules (sql/marts/attribution/attribution_rules.sql): first touch, last touch, last non-direct,
-- linear, time decay (half-life $time_decay_half_life_days days), position-based (40/20/40).
WITH touchpoints AS (
    SELECT order_id, channel, position, touches AS touchpoint_count, amount,
        COALESCE(max(position) FILTER (WHERE channel <> 'direct') OVER (PARTITION BY order_id),
                 touches) AS last_non_direct_position,
        power(0.5, COALESCE(seconds_before_order, 0.0) / ($time_decay_half_life_days * 86400.0)) AS decay_weight
    FROM stg_order_touchpoints
),
credits AS (
    SELECT channel, amount,
        CASE WHEN position = 1 THEN 1.0 ELSE 0.0 END AS first_touch,
        CASE WHEN position = touchpoint_count THEN 1.0 ELSE 0.0 END AS last_touch,
        CASE WHEN position = last_non_direct_position THEN 1.0 ELSE 0.0 END AS last_non_direct,
        1.0 / touchpoint_count AS linear,
        decay_weight / sum(decay_weight) OVER (PARTITION BY order_id) AS time_decay,
        CASE
            WHEN touchpoint_count = 1 THEN 1.0
            WHEN touchpoint_count = 2 THEN 0.5
            WHEN position = 1 OR position = touchpoint_count THEN 0.4
            ELSE 0.2 / (touchpoint_count - 2)
        END AS position_based
    FROM touchpoints
)
SELECT
    channel,
    sum(first_touch) AS first_touch_conversions,
    sum(first_touch * amount) AS first_touch_revenue,
    sum(last_touch) AS last_touch_conversions,
    sum(last_touch * amount) AS last_touch_revenue,
    sum(last_non_direct) AS last_non_direct_conversions,
    sum(last_non_direct * amount) AS last_non_direct_revenue,
    sum(linear) AS linear_conversions,
    sum(linear * amount) AS linear_revenue,
    sum(time_decay) AS time_decay_conversions,
    sum(time_decay * amount) AS time_decay_revenue,
    sum(position_based) AS position_based_conversions,
    sum(position_based * amount) AS position_based_revenue
FROM credits
GROUP BY channel
