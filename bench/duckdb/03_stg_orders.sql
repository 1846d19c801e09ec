-- stg_orders (sql/staging/stg_orders.sql): one row per order_id (its earliest row), orders before the
-- end of the as-of day; only 'completed' counts as revenue. order_day in the report time zone.
SELECT DISTINCT ON (order_id)
    order_id,
    customer_id,
    order_time,
    amount,
    currency,
    lower(status) AS status,
    lower(status) = 'completed' AS completed,
    CAST(timezone($report_tz, timezone('UTC', order_time)) AS DATE) AS order_day
FROM transactions
WHERE order_time < $as_of_end
  AND order_id IS NOT NULL
  AND customer_id IS NOT NULL
ORDER BY order_id, order_time
