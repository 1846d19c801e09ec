-- attribution: completed-order conversions and revenue credited to channels by three
-- rule-based attribution models, over the touchpoints of stg_order_touchpoints (sessions in
-- the $lookback_days lookback window before each completed order of the report period).
--
--   first_touch: all credit to the earliest touchpoint (position = 1);
--   last_touch:  all credit to the latest touchpoint (position = touches);
--   linear:      1/touches of the credit to every touchpoint.
-- Equal session start times are ordered by session_id. Orders with no touchpoint in the
-- window are credited to '(no touchpoint)'. Each model's conversions sum to the number of
-- completed orders, its revenue to their revenue (the report checks this).
--
-- Columns: channel, first_touch_conversions, first_touch_revenue, last_touch_conversions,
-- last_touch_revenue, linear_conversions, linear_revenue (DOUBLE; revenue in currency units).
SELECT
    channel,
    sum(CASE WHEN position = 1 THEN 1.0 ELSE 0.0 END) AS first_touch_conversions,
    sum(CASE WHEN position = 1 THEN amount ELSE 0.0 END) AS first_touch_revenue,
    sum(CASE WHEN position = touches THEN 1.0 ELSE 0.0 END) AS last_touch_conversions,
    sum(CASE WHEN position = touches THEN amount ELSE 0.0 END) AS last_touch_revenue,
    sum(1.0 / touches) AS linear_conversions,
    sum(amount / touches) AS linear_revenue
FROM stg_order_touchpoints
GROUP BY channel
ORDER BY linear_revenue DESC, channel
