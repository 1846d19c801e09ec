-- rfm_segments: the RFM segments of rfm, with their size and value.
--
-- Columns: segment, customers (BIGINT), share_of_customers (DOUBLE), avg_recency_days,
-- avg_frequency, avg_monetary (DOUBLE), revenue (DOUBLE: their historical LTV summed),
-- share_of_revenue (DOUBLE).
SELECT
    segment,
    count(*) AS customers,
    CAST(count(*) AS DOUBLE) / sum(count(*)) OVER () AS share_of_customers,
    avg(recency_days) AS avg_recency_days,
    avg(frequency) AS avg_frequency,
    -- money adds up exactly as DECIMAL: sums and means do not depend on the order the rows
    -- arrive in
    CAST(sum(CAST(monetary AS DECIMAL(38, 6))) AS DOUBLE) / count(monetary) AS avg_monetary,
    CAST(sum(CAST(monetary AS DECIMAL(38, 6))) AS DOUBLE) AS revenue,
    CAST(sum(CAST(monetary AS DECIMAL(38, 6))) AS DOUBLE)
      / CAST(sum(sum(CAST(monetary AS DECIMAL(38, 6)))) OVER () AS DOUBLE) AS share_of_revenue
FROM rfm
GROUP BY segment
ORDER BY revenue DESC, segment
