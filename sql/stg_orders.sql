-- stg_orders: the orders export, cleaned. One row per order_id (the first row of a repeated
-- id), orders before the end of the as-of day only.
--
-- Revenue rule: only status 'completed' counts as revenue and as a conversion. 'refunded'
-- orders are kept for the refund rate but earn nothing; 'cancelled' likewise.
--
-- Columns: order_id, customer_id, order_time (TIMESTAMP, UTC), amount (DOUBLE, currency
-- units), currency, status, completed (BOOLEAN), order_day (DATE in the report time zone).
SELECT DISTINCT ON (order_id)
    order_id,
    customer_id,
    order_time,
    amount,
    currency,
    lower(status) AS status,
    lower(status) = 'completed' AS completed,
    CAST(local_time(order_time, $report_tz) AS DATE) AS order_day
FROM transactions
WHERE order_time < $as_of_end
  AND order_id IS NOT NULL
  AND customer_id IS NOT NULL
ORDER BY order_id, order_time
