-- stg_order_touchpoints (sql/intermediate/stg_order_touchpoints.sql): each completed order of the report
-- period with its customer's sessions that started in the $lookback_days days before it (both
-- ends inclusive); an order without one gets a single '(no touchpoint)' row. Columns as the
-- model's data file: touch_time (the touchpoint's session start) and touches (the number of
-- touchpoints of the order) keep their published names.
WITH orders AS (
    SELECT order_id, customer_id, order_time, amount
    FROM stg_orders
    WHERE completed AND order_time >= $period_start
)
SELECT o.order_id, o.customer_id, o.order_time, o.amount,
       s.session_start AS touch_time,
       CASE WHEN s.session_id IS NULL THEN '(no touchpoint)' ELSE s.channel END AS channel,
       s.campaign,
       row_number() OVER (PARTITION BY o.order_id ORDER BY s.session_start, s.session_id) AS position,
       count(*) OVER (PARTITION BY o.order_id) AS touches,
       epoch(o.order_time) - epoch(s.session_start) AS seconds_before_order
FROM orders o
LEFT JOIN stg_sessions s
  ON s.customer_id = o.customer_id
 AND s.session_start <= o.order_time
 AND s.session_start >= o.order_time - INTERVAL ($lookback_days) DAY
