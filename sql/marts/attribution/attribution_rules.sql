-- attribution_rules: completed-order conversions and revenue credited to channels by the six
-- rule-based attribution models, over the touchpoints of stg_order_touchpoints (sessions that
-- started in the $lookback_days-day lookback window before each completed order of the
-- report period, both ends inclusive).
--
--   first_touch:     all credit to the earliest touchpoint (position = 1);
--   last_touch:      all credit to the latest touchpoint at or before the order;
--   last_non_direct: all credit to the latest touchpoint whose channel is not 'direct'
--                    (GA's "last non-direct click"); an order whose touchpoints are all
--                    direct credits its last touchpoint (direct);
--   linear:          1/n of the credit to each of the order's n touchpoints;
--   time_decay:      weight 2^(-age / half-life) per touchpoint, age = seconds between the
--                    session start and the order, half-life $time_decay_half_life_days days
--                    (default 7, as Mixpanel and Google Ads); weights normalised per order;
--   position_based:  40% first, 40% last, the remaining 20% shared by the touchpoints in
--                    between; one touchpoint gets 100%, two get 50/50 (Google Ads, Mixpanel).
--
-- Equal session start times are ordered by session_id. An order with no touchpoint in the
-- window is credited to '(no touchpoint)' by every model. Refunds: only orders whose status
-- is 'completed' are conversions; an order exported as 'refunded' or 'cancelled' earns no
-- model anything (stg_orders). Every model's conversions sum to the number of completed
-- orders, its revenue to their revenue.
--
-- Columns: channel (VARCHAR), then <model>_conversions and <model>_revenue (DOUBLE; revenue
-- in currency units) for model in first_touch, last_touch, last_non_direct, linear,
-- time_decay, position_based. One row per channel, ordered by channel.
--
-- Deterministic: each touchpoint's credit is rounded to 12 decimals (DECIMAL(38, 12)) and the
-- credits add up exactly as DECIMAL, so a sum does not depend on the order in which the rows
-- arrive (DOUBLE sums in parallel do: 39256.81 or 39256.810000000005); an order's
-- time-decay weights add up in the order of its touchpoints.
WITH touchpoints AS (
    SELECT
        order_id, channel, position, touches AS touchpoint_count, amount,
        COALESCE(
            max(CASE WHEN channel <> 'direct' THEN position END) OVER (PARTITION BY order_id),
            touches
        ) AS last_non_direct_position,
        power(0.5, COALESCE(seconds_before_order, 0.0) / ($time_decay_half_life_days * 86400.0)) AS decay_weight
    FROM stg_order_touchpoints
),
credits AS (
    SELECT
        channel,
        amount,
        CASE WHEN position = 1 THEN 1.0 ELSE 0.0 END AS first_touch,
        CASE WHEN position = touchpoint_count THEN 1.0 ELSE 0.0 END AS last_touch,
        CASE WHEN position = last_non_direct_position THEN 1.0 ELSE 0.0 END AS last_non_direct,
        1.0 / touchpoint_count AS linear,
        decay_weight / sum(decay_weight) OVER (
            PARTITION BY order_id ORDER BY position
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) AS time_decay,
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
    CAST(sum(CAST(first_touch AS DECIMAL(38, 12))) AS DOUBLE) AS first_touch_conversions,
    CAST(sum(CAST(first_touch * amount AS DECIMAL(38, 12))) AS DOUBLE) AS first_touch_revenue,
    CAST(sum(CAST(last_touch AS DECIMAL(38, 12))) AS DOUBLE) AS last_touch_conversions,
    CAST(sum(CAST(last_touch * amount AS DECIMAL(38, 12))) AS DOUBLE) AS last_touch_revenue,
    CAST(sum(CAST(last_non_direct AS DECIMAL(38, 12))) AS DOUBLE) AS last_non_direct_conversions,
    CAST(sum(CAST(last_non_direct * amount AS DECIMAL(38, 12))) AS DOUBLE) AS last_non_direct_revenue,
    CAST(sum(CAST(linear AS DECIMAL(38, 12))) AS DOUBLE) AS linear_conversions,
    CAST(sum(CAST(linear * amount AS DECIMAL(38, 12))) AS DOUBLE) AS linear_revenue,
    CAST(sum(CAST(time_decay AS DECIMAL(38, 12))) AS DOUBLE) AS time_decay_conversions,
    CAST(sum(CAST(time_decay * amount AS DECIMAL(38, 12))) AS DOUBLE) AS time_decay_revenue,
    CAST(sum(CAST(position_based AS DECIMAL(38, 12))) AS DOUBLE) AS position_based_conversions,
    CAST(sum(CAST(position_based * amount AS DECIMAL(38, 12))) AS DOUBLE) AS position_based_revenue
FROM credits
GROUP BY channel
ORDER BY channel
