-- rfm_segments (sql/marts/rfm/rfm_segments.sql): size and value of each RFM segment.
SELECT
    segment,
    count(*) AS customers,
    count(*) / sum(count(*)) OVER () AS share_of_customers,
    avg(recency_days) AS avg_recency_days,
    avg(frequency) AS avg_frequency,
    avg(monetary) AS avg_monetary,
    sum(monetary) AS revenue,
    sum(monetary) / sum(sum(monetary)) OVER () AS share_of_revenue
FROM rfm
GROUP BY segment
ORDER BY revenue DESC
