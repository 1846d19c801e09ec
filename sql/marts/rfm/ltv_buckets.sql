-- ltv_buckets: historical LTV (rfm.monetary: completed-order revenue per customer, currency
-- units) in $ltv_buckets equal-width buckets from the smallest to the largest value; the
-- largest value falls in the last bucket. Empty buckets are listed with 0 customers.
--
-- Columns: bucket (BIGINT, 1…$ltv_buckets), lower, upper (DOUBLE, currency units; a bucket
-- holds lower <= LTV < upper, the last one also its upper bound), customers (BIGINT),
-- revenue (DOUBLE), label (VARCHAR, e.g. '120–240', rounded bounds for charts).
WITH bounds AS (
    SELECT min(monetary) AS lo, max(monetary) AS hi FROM rfm
),
buckets AS (
    SELECT CAST(value AS BIGINT) AS bucket FROM generate_series(1, $ltv_buckets)
),
assigned AS (
    SELECT r.monetary,
           CASE WHEN b.hi = b.lo THEN 1
                ELSE least(CAST(floor((r.monetary - b.lo) / ((b.hi - b.lo) / $ltv_buckets)) AS BIGINT) + 1, $ltv_buckets)
           END AS bucket
    FROM rfm r CROSS JOIN bounds b
)
SELECT
    k.bucket,
    b.lo + (k.bucket - 1) * (b.hi - b.lo) / $ltv_buckets AS lower,
    b.lo + k.bucket * (b.hi - b.lo) / $ltv_buckets AS upper,
    count(a.monetary) AS customers,
    -- an exact DECIMAL sum: it does not depend on the order the rows arrive in
    COALESCE(CAST(sum(CAST(a.monetary AS DECIMAL(38, 6))) AS DOUBLE), 0.0) AS revenue,
    CAST(CAST(round(b.lo + (k.bucket - 1) * (b.hi - b.lo) / $ltv_buckets) AS BIGINT) AS VARCHAR)
        || '–' || CAST(CAST(round(b.lo + k.bucket * (b.hi - b.lo) / $ltv_buckets) AS BIGINT) AS VARCHAR) AS label
FROM buckets k
CROSS JOIN bounds b
LEFT JOIN assigned a ON a.bucket = k.bucket
WHERE b.lo IS NOT NULL
GROUP BY k.bucket, b.lo, b.hi
ORDER BY k.bucket
