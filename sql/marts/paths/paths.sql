-- paths: the top $top_paths channel paths, with consecutive repeats collapsed
-- (social > social > email becomes social > email), over the journeys of stg_journeys
-- (converting: the touchpoints in the $lookback_days days before each completed order of the
-- report period; non-converting: customers active in the period without an order).
-- conversion_rate = conversions / (conversions + non_conversions) for the same path.
--
-- Columns: path (VARCHAR, 'a > b > c'), touchpoints (BIGINT, channels in the collapsed path),
-- conversions, revenue (DOUBLE), non_conversions, conversion_rate, share_of_conversions (DOUBLE).
WITH journeys AS (
    SELECT array_to_string(path_collapse(path), ' > ') AS path, converted, revenue
    FROM stg_journeys
),
conv AS (
    -- revenue adds up exactly as DECIMAL: it does not depend on the order the rows arrive in
    SELECT path, count(*) AS conversions,
           CAST(sum(CAST(revenue AS DECIMAL(38, 6))) AS DOUBLE) AS revenue
    FROM journeys WHERE converted GROUP BY path
),
nonconv AS (
    SELECT path, count(*) AS non_conversions FROM journeys WHERE NOT converted GROUP BY path
),
total AS (SELECT count(*) AS n FROM journeys WHERE converted)
SELECT
    c.path,
    CAST(array_length(string_to_array(c.path, ' > ')) AS BIGINT) AS touchpoints,
    c.conversions,
    c.revenue,
    COALESCE(n.non_conversions, 0) AS non_conversions,
    CAST(c.conversions AS DOUBLE) / (c.conversions + COALESCE(n.non_conversions, 0)) AS conversion_rate,
    CAST(c.conversions AS DOUBLE) / t.n AS share_of_conversions
FROM conv c
LEFT JOIN nonconv n ON n.path = c.path
CROSS JOIN total t
ORDER BY c.conversions DESC, c.revenue DESC, c.path
LIMIT $top_paths
