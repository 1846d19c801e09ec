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
--   linear:          1/touches of the credit to every touchpoint;
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
-- time_decay, position_based.
WITH touches AS (
    SELECT
        order_id, channel, position, touches, amount,
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
        CASE WHEN position = touches THEN 1.0 ELSE 0.0 END AS last_touch,
        CASE WHEN position = last_non_direct_position THEN 1.0 ELSE 0.0 END AS last_non_direct,
        1.0 / touches AS linear,
        decay_weight / sum(decay_weight) OVER (PARTITION BY order_id) AS time_decay,
        CASE
            WHEN touches = 1 THEN 1.0
            WHEN touches = 2 THEN 0.5
            WHEN position = 1 OR position = touches THEN 0.4
            ELSE 0.2 / (touches - 2)
        END AS position_based
    FROM touches
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
