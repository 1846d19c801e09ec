-- stg_orders: the orders export, cleaned. One row per order_id (of a repeated id, the
-- earliest row, then the lowest status, amount, customer id and currency — every column in
-- turn, so the choice never depends on file order), orders before the end of the as-of day
-- only. arg_min (a journey-report function) takes that row, as a struct, in one pass.
--
-- Revenue rule: only status 'completed' counts as revenue and as a conversion. 'refunded'
-- orders are kept for the refund rate but earn nothing; 'cancelled' likewise.
--
-- Columns: order_id, customer_id, order_time (TIMESTAMP, UTC), amount (DOUBLE, currency
-- units), currency, status, completed (BOOLEAN), order_day (DATE in the report time zone).
-- Rows ordered by order_id (order_id is unique): its data file is the same on every run.
WITH firsts AS (
    SELECT order_id,
           arg_min(named_struct('customer_id', customer_id, 'order_time', order_time,
                                'amount', amount, 'currency', currency, 'status', lower(status)),
                   order_time, lower(status), amount, customer_id, currency) AS o
    FROM transactions
    WHERE order_time < $as_of_end
      AND order_id IS NOT NULL
      AND customer_id IS NOT NULL
    GROUP BY order_id
)
SELECT
    order_id,
    o['customer_id'] AS customer_id,
    o['order_time'] AS order_time,
    o['amount'] AS amount,
    o['currency'] AS currency,
    o['status'] AS status,
    o['status'] = 'completed' AS completed,
    local_date(o['order_time'], $report_tz) AS order_day
FROM firsts
ORDER BY order_id
