-- clv_summary: the inputs of the probabilistic CLV models, one row per customer with at least
-- one completed order up to the end of the as-of day — the frequency / recency / T / monetary
-- summary of Fader, Hardie & Lee (2005), as lifetimes' summary_data_from_transaction_data
-- computes it with freq='D'.
--
-- Time unit: days (order days in the report time zone). Several orders on one day count as
-- one purchase (their amounts add up).
--   frequency:       repeat purchases: purchase days − 1;
--   recency:         days from the first to the last purchase day (0 for one purchase);
--   t:               the customer's age: days from the first purchase day to $as_of;
--   monetary_value:  mean amount of the repeat purchase days (the first one excluded, as
--                    the Gamma-Gamma model wants), 0 when frequency = 0.
--
-- Columns: customer_id, frequency, recency, t, monetary_value, historical_revenue (DOUBLE;
-- money in currency units), first_purchase_day, last_purchase_day (DATE),
-- days_since_last_purchase (BIGINT). One row per customer, ordered by customer_id.
-- Amounts add up as DECIMAL(38, 6) (exact to a millionth of a currency unit), so a sum does
-- not depend on the order rows are added in, and neither does churn_risk's revenue rank.
WITH days AS (
    SELECT customer_id, order_day, sum(CAST(amount AS DECIMAL(38, 6))) AS amount
    FROM stg_orders
    WHERE completed
    GROUP BY customer_id, order_day
),
per_customer AS (
    SELECT customer_id,
           min(order_day) AS first_purchase_day,
           max(order_day) AS last_purchase_day,
           count(*) AS purchase_days,
           sum(amount) AS revenue,
           first_value(amount ORDER BY order_day) AS first_amount
    FROM days
    GROUP BY customer_id
)
SELECT
    customer_id,
    CAST(purchase_days - 1 AS DOUBLE) AS frequency,
    CAST(CAST(last_purchase_day AS INT) - CAST(first_purchase_day AS INT) AS DOUBLE) AS recency,
    CAST(CAST($as_of AS INT) - CAST(first_purchase_day AS INT) AS DOUBLE) AS t,
    CASE WHEN purchase_days > 1
         THEN CAST(revenue - first_amount AS DOUBLE) / (purchase_days - 1) ELSE 0.0 END AS monetary_value,
    CAST(revenue AS DOUBLE) AS historical_revenue,
    first_purchase_day,
    last_purchase_day,
    CAST(CAST($as_of AS INT) - CAST(last_purchase_day AS INT) AS BIGINT) AS days_since_last_purchase
FROM per_customer
ORDER BY customer_id
