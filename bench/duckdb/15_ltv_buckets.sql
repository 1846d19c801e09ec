-- ltv_buckets (sql/marts/rfm/ltv_buckets.sql): historical LTV (rfm.monetary) in $ltv_buckets
-- equal-width buckets, lower <= LTV < upper, the maximum in the last bucket.
WITH bounds AS (
    SELECT min(monetary) AS lo, max(monetary) AS hi FROM rfm
),
assigned AS (
    SELECT CASE WHEN b.hi = b.lo THEN 1
                ELSE least(CAST(floor((r.monetary - b.lo) / ((b.hi - b.lo) / $ltv_buckets)) AS BIGINT) + 1, $ltv_buckets)
           END AS bucket,
           count(*) AS customers, sum(r.monetary) AS revenue
    FROM rfm r, bounds b
    GROUP BY 1
)
SELECT
    k.bucket,
    b.lo + (k.bucket - 1) * (b.hi - b.lo) / $ltv_buckets AS lower,
    b.lo + k.bucket * (b.hi - b.lo) / $ltv_buckets AS upper,
    COALESCE(a.customers, 0) AS customers,
    COALESCE(a.revenue, 0.0) AS revenue,
    CAST(CAST(round(b.lo + (k.bucket - 1) * (b.hi - b.lo) / $ltv_buckets) AS BIGINT) AS VARCHAR)
        || '–' || CAST(CAST(round(b.lo + k.bucket * (b.hi - b.lo) / $ltv_buckets) AS BIGINT) AS VARCHAR) AS label
FROM range(1, $ltv_buckets + 1) k(bucket)
CROSS JOIN bounds b
LEFT JOIN assigned a ON a.bucket = k.bucket
WHERE b.lo IS NOT NULL
ORDER BY k.bucket
