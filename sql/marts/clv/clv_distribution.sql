-- clv_distribution: customers by predicted CLV (clv.predicted_clv, currency units) in fixed
-- buckets that follow the long tail of customer value; edit the edges below to taste.
--
-- Columns: bucket (BIGINT, 1 = lowest), label (VARCHAR, e.g. '50–100'), lower, upper (DOUBLE,
-- currency units; upper NULL for the last), customers (BIGINT), predicted_clv (DOUBLE).
WITH edges AS (
    SELECT * FROM (VALUES
        (1, 0.0, 10.0), (2, 10.0, 25.0), (3, 25.0, 50.0), (4, 50.0, 100.0), (5, 100.0, 250.0),
        (6, 250.0, 500.0), (7, 500.0, 1000.0), (8, 1000.0, 2500.0), (9, 2500.0, CAST(NULL AS DOUBLE))
    ) AS e(n, lo, hi)
)
SELECT
    CAST(e.n AS BIGINT) AS bucket,
    CASE WHEN e.hi IS NULL THEN CAST(CAST(e.lo AS BIGINT) AS VARCHAR) || '+'
         ELSE CAST(CAST(e.lo AS BIGINT) AS VARCHAR) || '–' || CAST(CAST(e.hi AS BIGINT) AS VARCHAR) END AS label,
    e.lo AS lower,
    e.hi AS upper,
    count(c.customer_id) AS customers,
    -- an exact DECIMAL sum: it does not depend on the order the rows arrive in
    COALESCE(CAST(sum(CAST(c.predicted_clv AS DECIMAL(38, 6))) AS DOUBLE), 0.0) AS predicted_clv
FROM edges e
LEFT JOIN clv c
  ON c.predicted_clv >= e.lo AND (e.hi IS NULL OR c.predicted_clv < e.hi)
GROUP BY e.n, e.lo, e.hi
ORDER BY e.n
