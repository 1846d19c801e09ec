-- rfm (sql/marts/rfm/rfm.sql): recency, frequency, monetary quintiles (ntile(5), ties split by
-- customer_id) and the 10-segment R×F grid, customers with a completed order.
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
           CAST($as_of - last_order_day AS BIGINT) AS recency_days,
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
