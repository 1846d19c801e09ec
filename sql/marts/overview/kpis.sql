-- kpis: the headline numbers of the executive summary for the report period (the
-- $period_days days up to $as_of) and the period before it.
--
-- Columns: ord (INT, display order), metric (key), label, value, previous (DOUBLE),
-- change (DOUBLE: value / previous - 1, NULL when previous is 0), format ('int', 'money'
-- or 'pct').
--   revenue:                 completed-order revenue (currency units)
--   orders, buyers:          completed orders; distinct customers with one
--   aov:                     average order value = revenue / orders
--   active_customers:        distinct customers with any event
--   sessions:                sessions started (stg_sessions)
--   session_conversion_rate: sessions holding a $conversion_event event / sessions
--   new_customers:           CRM sign-ups (stg_customers.signup_at)
--   refund_rate:             refunded / (completed + refunded) orders
WITH o AS (
    -- revenue adds up exactly as DECIMAL: it does not depend on the order the rows arrive in
    SELECT
        CAST(sum(CASE WHEN completed AND order_time >= $period_start THEN CAST(amount AS DECIMAL(38, 6)) ELSE CAST(0 AS DECIMAL(38, 6)) END) AS DOUBLE) AS revenue,
        CAST(sum(CASE WHEN completed AND order_time < $period_start THEN CAST(amount AS DECIMAL(38, 6)) ELSE CAST(0 AS DECIMAL(38, 6)) END) AS DOUBLE) AS revenue_prev,
        sum(CASE WHEN completed AND order_time >= $period_start THEN 1 ELSE 0 END) AS orders,
        sum(CASE WHEN completed AND order_time < $period_start THEN 1 ELSE 0 END) AS orders_prev,
        count(DISTINCT CASE WHEN completed AND order_time >= $period_start THEN customer_id END) AS buyers,
        count(DISTINCT CASE WHEN completed AND order_time < $period_start THEN customer_id END) AS buyers_prev,
        sum(CASE WHEN status = 'refunded' AND order_time >= $period_start THEN 1 ELSE 0 END) AS refunded,
        sum(CASE WHEN status = 'refunded' AND order_time < $period_start THEN 1 ELSE 0 END) AS refunded_prev
    FROM stg_orders
    WHERE order_time >= $previous_period_start
),
s AS (
    SELECT
        sum(CASE WHEN session_start >= $period_start THEN 1 ELSE 0 END) AS sessions,
        sum(CASE WHEN session_start < $period_start THEN 1 ELSE 0 END) AS sessions_prev,
        sum(CASE WHEN converted AND session_start >= $period_start THEN 1 ELSE 0 END) AS conv,
        sum(CASE WHEN converted AND session_start < $period_start THEN 1 ELSE 0 END) AS conv_prev,
        count(DISTINCT CASE WHEN session_start >= $period_start THEN customer_id END) AS active,
        count(DISTINCT CASE WHEN session_start < $period_start THEN customer_id END) AS active_prev
    FROM stg_sessions
    WHERE session_start >= $previous_period_start
),
c AS (
    SELECT
        sum(CASE WHEN signup_at >= $period_start AND signup_at < $as_of_end THEN 1 ELSE 0 END) AS new_customers,
        sum(CASE WHEN signup_at >= $previous_period_start AND signup_at < $period_start THEN 1 ELSE 0 END) AS new_prev
    FROM stg_customers
),
k AS (
    SELECT 1 AS ord, 'revenue' AS metric, 'Revenue' AS label, CAST(o.revenue AS DOUBLE) AS value, CAST(o.revenue_prev AS DOUBLE) AS previous, 'money' AS format FROM o
    UNION ALL SELECT 2, 'orders', 'Orders', CAST(o.orders AS DOUBLE), CAST(o.orders_prev AS DOUBLE), 'int' FROM o
    UNION ALL SELECT 3, 'aov', 'Average order value', o.revenue / NULLIF(o.orders, 0), o.revenue_prev / NULLIF(o.orders_prev, 0), 'money' FROM o
    UNION ALL SELECT 4, 'buyers', 'Buyers', CAST(o.buyers AS DOUBLE), CAST(o.buyers_prev AS DOUBLE), 'int' FROM o
    UNION ALL SELECT 5, 'active_customers', 'Active customers', CAST(s.active AS DOUBLE), CAST(s.active_prev AS DOUBLE), 'int' FROM s
    UNION ALL SELECT 6, 'sessions', 'Sessions', CAST(s.sessions AS DOUBLE), CAST(s.sessions_prev AS DOUBLE), 'int' FROM s
    UNION ALL SELECT 7, 'session_conversion_rate', 'Session conversion rate', CAST(s.conv AS DOUBLE) / NULLIF(s.sessions, 0), CAST(s.conv_prev AS DOUBLE) / NULLIF(s.sessions_prev, 0), 'pct' FROM s
    UNION ALL SELECT 8, 'new_customers', 'New customers (sign-ups)', CAST(c.new_customers AS DOUBLE), CAST(c.new_prev AS DOUBLE), 'int' FROM c
    UNION ALL SELECT 9, 'refund_rate', 'Refund rate', CAST(o.refunded AS DOUBLE) / NULLIF(o.orders + o.refunded, 0), CAST(o.refunded_prev AS DOUBLE) / NULLIF(o.orders_prev + o.refunded_prev, 0), 'pct' FROM o
)
SELECT ord, metric, label, value, previous,
       CASE WHEN previous IS NULL OR previous = 0 THEN NULL ELSE value / previous - 1 END AS change,
       format
FROM k
ORDER BY ord
