-- clv_p_alive: mean BG/NBD P(alive) of the customers of clv by frequency (repeat purchases)
-- × recency (days since the last purchase), for the recency × frequency heatmap.
--
-- Columns: frequency_bucket (VARCHAR: '0', '1', …, '5–9', '10+'), frequency_order (BIGINT),
-- recency_bucket (VARCHAR: '0–30 d', …, '365+ d'), recency_order (BIGINT), customers
-- (BIGINT), avg_p_alive (DOUBLE 0–1; NULL when the BG/NBD fit did not converge).
WITH b AS (
    SELECT
        CASE WHEN frequency >= 10 THEN '10+' WHEN frequency >= 5 THEN '5–9'
             ELSE CAST(CAST(frequency AS BIGINT) AS VARCHAR) END AS frequency_bucket,
        CAST(CASE WHEN frequency >= 10 THEN 6 WHEN frequency >= 5 THEN 5 ELSE frequency END AS BIGINT) AS frequency_order,
        CASE WHEN days_since_last_purchase <= 30 THEN '0–30 d'
             WHEN days_since_last_purchase <= 90 THEN '31–90 d'
             WHEN days_since_last_purchase <= 180 THEN '91–180 d'
             WHEN days_since_last_purchase <= 365 THEN '181–365 d'
             ELSE '365+ d' END AS recency_bucket,
        CAST(CASE WHEN days_since_last_purchase <= 30 THEN 1
             WHEN days_since_last_purchase <= 90 THEN 2
             WHEN days_since_last_purchase <= 180 THEN 3
             WHEN days_since_last_purchase <= 365 THEN 4
             ELSE 5 END AS BIGINT) AS recency_order,
        p_alive
    FROM clv
)
SELECT frequency_bucket, frequency_order, recency_bucket, recency_order,
       count(*) AS customers,
       -- an exact DECIMAL sum: the mean does not depend on the order the rows arrive in
       CAST(sum(CAST(p_alive AS DECIMAL(38, 12))) AS DOUBLE) / count(p_alive) AS avg_p_alive
FROM b
GROUP BY frequency_bucket, frequency_order, recency_bucket, recency_order
ORDER BY frequency_order, recency_order
