-- rfm: recency, frequency and monetary scores as of $as_of, one row per customer with at
-- least one completed order up to the end of the as-of day.
--
--   recency_days: days from the last completed order's day to $as_of (report time zone);
--   frequency:    completed orders; monetary = historical LTV: their revenue (currency units).
-- Scores are quintiles 1–5 (5 = best: most recent, most frequent, highest spend), computed
-- with ntile(5) over the customers sorted by the value and then by customer_id, so ties are
-- split deterministically (pandas' qcut of rank(method='first') does the same). Monetary adds
-- up as DECIMAL(38, 6), exact to a millionth of a currency unit: summed as DOUBLE, equal
-- totals could differ in the last bit with the order rows are added in, and a customer at a
-- quintile boundary would change score from one run to the next.
--
-- Segment map: the 10-segment grid over the R and F scores popularised by Putler
-- ("RFM Analysis for Successful Customer Segmentation", putler.com) in the form used by
-- open CRM-analytics courses:
--   R 1-2 × F 1-2 Hibernating     R 1-2 × F 3-4 At Risk        R 1-2 × F 5   Can't Lose Them
--   R 3   × F 1-2 About to Sleep  R 3   × F 3   Need Attention R 3-4 × F 4-5 Loyal Customers
--   R 4   × F 1   Promising       R 5   × F 1   New Customers  R 4-5 × F 2-3 Potential Loyalists
--   R 5   × F 4-5 Champions
-- The cells partition the 5×5 grid, so every segment is reachable and none shadows another.
-- To change a threshold, edit the CASE below: the next run's report follows.
--
-- Columns: customer_id, first_order_day, last_order_day (DATE), recency_days, frequency
-- (BIGINT), monetary (DOUBLE), r_score, f_score, m_score (INT 1–5), rfm_score ('545'), segment.
WITH per_customer AS (
    SELECT customer_id,
           min(order_day) AS first_order_day,
           max(order_day) AS last_order_day,
           count(*) AS frequency,
           CAST(sum(CAST(amount AS DECIMAL(38, 6))) AS DOUBLE) AS monetary
    FROM stg_orders
    WHERE completed
    GROUP BY customer_id
),
scored AS (
    SELECT *,
           CAST(CAST($as_of AS INT) - CAST(last_order_day AS INT) AS BIGINT) AS recency_days,
           CAST(ntile(5) OVER (ORDER BY last_order_day, customer_id) AS INT) AS r_score,
           CAST(ntile(5) OVER (ORDER BY frequency, customer_id) AS INT) AS f_score,
           CAST(ntile(5) OVER (ORDER BY monetary, customer_id) AS INT) AS m_score
    FROM per_customer
)
SELECT
    customer_id, first_order_day, last_order_day, recency_days, frequency, monetary,
    r_score, f_score, m_score,
    CAST(r_score AS VARCHAR) || CAST(f_score AS VARCHAR) || CAST(m_score AS VARCHAR) AS rfm_score,
    CASE
        WHEN r_score <= 2 AND f_score <= 2 THEN 'Hibernating'
        WHEN r_score <= 2 AND f_score <= 4 THEN 'At Risk'
        WHEN r_score <= 2 THEN 'Can''t Lose Them'
        WHEN r_score = 3 AND f_score <= 2 THEN 'About to Sleep'
        WHEN r_score = 3 AND f_score = 3 THEN 'Need Attention'
        WHEN r_score <= 4 AND f_score >= 4 THEN 'Loyal Customers'
        WHEN r_score = 4 AND f_score = 1 THEN 'Promising'
        WHEN r_score = 5 AND f_score = 1 THEN 'New Customers'
        WHEN f_score <= 3 THEN 'Potential Loyalists'
        ELSE 'Champions'
    END AS segment
FROM scored
ORDER BY customer_id
