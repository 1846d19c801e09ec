-- stg_order_touchpoints: for every completed order in the report period, the touchpoints
-- (sessions) of its customer that started within the lookback window before it:
-- order_time - $lookback_days days <= session_start <= order_time (both ends inclusive).
-- An order with no touchpoint in the window gets one row with channel '(no touchpoint)'.
--
-- Columns: order_id, customer_id, order_time, amount (DOUBLE), touch_time (TIMESTAMP or
-- NULL: the touchpoint's time, its session start), channel, campaign, position (BIGINT, 1 =
-- the first touchpoint), touches (BIGINT: the number of touchpoints of the order),
-- seconds_before_order (DOUBLE). touch_time and touches keep their names although the term is
-- touchpoint: they are columns of the data file data/stg_order_touchpoints.parquet.
-- Rows ordered by order_id, position ((order_id, position) is unique): its data file is the
-- same on every run.
WITH orders AS (
    SELECT order_id, customer_id, order_time, amount
    FROM stg_orders
    WHERE completed AND order_time >= $period_start
),
touchpoints AS (
    SELECT o.order_id, o.customer_id, o.order_time, o.amount,
           s.session_start AS touchpoint_time, s.channel, s.campaign, s.session_id
    FROM orders o
    JOIN stg_sessions s
      ON s.customer_id = o.customer_id
     AND s.session_start <= o.order_time
     AND date_part('epoch', o.order_time) - date_part('epoch', s.session_start) <= $lookback_days * 86400
),
ranked AS (
    SELECT *,
        row_number() OVER (PARTITION BY order_id ORDER BY touchpoint_time, session_id) AS position,
        count(*) OVER (PARTITION BY order_id) AS touchpoint_count
    FROM touchpoints
)
SELECT order_id, customer_id, order_time, amount, touchpoint_time AS touch_time, channel, campaign,
       position, touchpoint_count AS touches,
       date_part('epoch', order_time) - date_part('epoch', touchpoint_time) AS seconds_before_order
FROM ranked
UNION ALL
SELECT o.order_id, o.customer_id, o.order_time, o.amount, CAST(NULL AS TIMESTAMP), '(no touchpoint)', CAST(NULL AS VARCHAR),
       CAST(1 AS BIGINT), CAST(1 AS BIGINT), CAST(NULL AS DOUBLE)
FROM orders o
WHERE NOT EXISTS (SELECT 1 FROM touchpoints t WHERE t.order_id = o.order_id)
ORDER BY order_id, position
