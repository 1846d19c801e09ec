-- clv_calibration: does the BG/NBD model predict this business? A calibration/holdout check
-- (Fader, Hardie & Lee 2005, fig. 4; lifetimes' plot_calibration_purchases_vs_holdout_purchases).
--
-- The model is fitted again on the orders up to $clv_holdout_days days before $as_of (the
-- calibration period), then predicts each customer's purchases in the holdout days that
-- follow; the actual purchase days in the holdout are counted from the orders. Customers
-- are grouped by their repeat purchases in the calibration period (0, 1, …, 6, 7+).
--
-- Columns: calibration_frequency (VARCHAR), frequency_order (BIGINT), customers (BIGINT),
-- predicted_purchases, actual_purchases (DOUBLE: mean per customer in the holdout),
-- holdout_days (BIGINT), converged (BOOLEAN: the calibration fit converged; when false the
-- predictions are NULL).
WITH cutoff AS (
    SELECT CAST($as_of AS INT) - CAST($clv_holdout_days AS INT) AS day
),
days AS (
    SELECT o.customer_id, CAST(o.order_day AS INT) AS day
    FROM stg_orders o
    WHERE o.completed
    GROUP BY o.customer_id, o.order_day
),
calibration AS (
    SELECT d.customer_id,
           CAST(count(*) - 1 AS DOUBLE) AS frequency,
           CAST(max(d.day) - min(d.day) AS DOUBLE) AS recency,
           CAST(max(c.day) - min(d.day) AS DOUBLE) AS t
    FROM days d CROSS JOIN cutoff c
    WHERE d.day <= c.day
    GROUP BY d.customer_id
),
holdout AS (
    SELECT d.customer_id, count(*) AS purchases
    FROM days d CROSS JOIN cutoff c
    WHERE d.day > c.day
    GROUP BY d.customer_id
),
fit AS (
    SELECT bg_nbd_fit(frequency, recency, t) AS bg FROM calibration
),
predicted AS (
    SELECT k.customer_id, k.frequency,
           CASE WHEN f.bg['converged'] THEN
               bg_nbd_expected_purchases(f.bg['r'], f.bg['alpha'], f.bg['a'], f.bg['b'],
                                         CAST($clv_holdout_days AS DOUBLE), k.frequency, k.recency, k.t)
           END AS predicted,
           CAST(COALESCE(h.purchases, 0) AS DOUBLE) AS actual,
           COALESCE(f.bg['converged'], false) AS converged
    FROM calibration k
    CROSS JOIN fit f
    LEFT JOIN holdout h ON h.customer_id = k.customer_id
)
SELECT
    CASE WHEN frequency >= 7 THEN '7+' ELSE CAST(CAST(frequency AS BIGINT) AS VARCHAR) END AS calibration_frequency,
    CAST(LEAST(frequency, 7.0) AS BIGINT) AS frequency_order,
    count(*) AS customers,
    -- an exact DECIMAL sum: the mean does not depend on the order the rows arrive in
    CAST(sum(CAST(predicted AS DECIMAL(38, 12))) AS DOUBLE) / count(predicted) AS predicted_purchases,
    avg(actual) AS actual_purchases,
    CAST($clv_holdout_days AS BIGINT) AS holdout_days,
    bool_and(converged) AS converged
FROM predicted
GROUP BY 1, 2
ORDER BY frequency_order
