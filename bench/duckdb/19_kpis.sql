-- kpis (sql/marts/overview/kpis.sql): headline numbers of the report period and the one before.
WITH o AS (
    SELECT
        sum(amount) FILTER (WHERE completed AND order_time >= $period_start) AS revenue,
        sum(amount) FILTER (WHERE completed AND order_time < $period_start) AS revenue_prev,
        count(*) FILTER (WHERE completed AND order_time >= $period_start) AS orders,
        count(*) FILTER (WHERE completed AND order_time < $period_start) AS orders_prev,
        count(DISTINCT customer_id) FILTER (WHERE completed AND order_time >= $period_start) AS buyers,
        count(DISTINCT customer_id) FILTER (WHERE completed AND order_time < $period_start) AS buyers_prev,
        count(*) FILTER (WHERE status = 'refunded' AND order_time >= $period_start) AS refunded,
        count(*) FILTER (WHERE status = 'refunded' AND order_time < $period_start) AS refunded_prev
    FROM stg_orders
    WHERE order_time >= $previous_period_start
),
s AS (
    SELECT
        count(*) FILTER (WHERE session_start >= $period_start) AS sessions,
        count(*) FILTER (WHERE session_start < $period_start) AS sessions_prev,
        count(*) FILTER (WHERE converted AND session_start >= $period_start) AS conv,
        count(*) FILTER (WHERE converted AND session_start < $period_start) AS conv_prev,
        count(DISTINCT customer_id) FILTER (WHERE session_start >= $period_start) AS active,
        count(DISTINCT customer_id) FILTER (WHERE session_start < $period_start) AS active_prev
    FROM stg_sessions
    WHERE session_start >= $previous_period_start
),
c AS (
    SELECT
        count(*) FILTER (WHERE signup_at >= $period_start AND signup_at < $as_of_end) AS new_customers,
        count(*) FILTER (WHERE signup_at >= $previous_period_start AND signup_at < $period_start) AS new_prev
    FROM customers
),
k AS (
    SELECT 1 AS ord, 'revenue' AS metric, 'Revenue' AS label, COALESCE(o.revenue, 0.0) AS value, COALESCE(o.revenue_prev, 0.0) AS previous, 'money' AS format FROM o
    UNION ALL SELECT 2, 'orders', 'Orders', o.orders, o.orders_prev, 'int' FROM o
    UNION ALL SELECT 3, 'aov', 'Average order value', o.revenue / NULLIF(o.orders, 0), o.revenue_prev / NULLIF(o.orders_prev, 0), 'money' FROM o
    UNION ALL SELECT 4, 'buyers', 'Buyers', o.buyers, o.buyers_prev, 'int' FROM o
    UNION ALL SELECT 5, 'active_customers', 'Active customers', s.active, s.active_prev, 'int' FROM s
    UNION ALL SELECT 6, 'sessions', 'Sessions', s.sessions, s.sessions_prev, 'int' FROM s
    UNION ALL SELECT 7, 'session_conversion_rate', 'Session conversion rate', s.conv / NULLIF(s.sessions, 0), s.conv_prev / NULLIF(s.sessions_prev, 0), 'pct' FROM s
    UNION ALL SELECT 8, 'new_customers', 'New customers (sign-ups)', c.new_customers, c.new_prev, 'int' FROM c
    UNION ALL SELECT 9, 'refund_rate', 'Refund rate', o.refunded / NULLIF(o.orders + o.refunded, 0), o.refunded_prev / NULLIF(o.orders_prev + o.refunded_prev, 0), 'pct' FROM o
)
SELECT ord, metric, label, CAST(value AS DOUBLE) AS value, CAST(previous AS DOUBLE) AS previous,
       CASE WHEN previous IS NULL OR previous = 0 THEN NULL ELSE value / previous - 1 END AS change,
       format
FROM k
ORDER BY ord
