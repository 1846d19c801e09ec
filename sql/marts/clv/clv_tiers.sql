-- clv_tiers: the LTV tiers of clv, with their customers, predicted and historical value.
--
-- Columns: ltv_tier (VARCHAR), tier_order (BIGINT), customers (BIGINT), predicted_clv,
-- avg_predicted_clv, historical_revenue (DOUBLE, currency units), avg_p_alive (DOUBLE 0–1),
-- share_of_predicted_clv (DOUBLE 0–1).
SELECT
    ltv_tier,
    tier_order,
    count(*) AS customers,
    CAST(sum(clv) AS DOUBLE) AS predicted_clv,
    CAST(sum(clv) AS DOUBLE) / count(clv) AS avg_predicted_clv,
    CAST(sum(revenue) AS DOUBLE) AS historical_revenue,
    CAST(sum(p_alive) AS DOUBLE) / count(p_alive) AS avg_p_alive,
    CAST(sum(clv) AS DOUBLE) / NULLIF(CAST(sum(sum(clv)) OVER () AS DOUBLE), 0) AS share_of_predicted_clv
FROM (
    -- Sums and means add up exactly as DECIMAL: they do not depend on the order the rows
    -- arrive in (money to a millionth, P(alive) to 12 decimals).
    SELECT ltv_tier, tier_order,
           CAST(predicted_clv AS DECIMAL(38, 6)) AS clv,
           CAST(historical_revenue AS DECIMAL(38, 6)) AS revenue,
           CAST(p_alive AS DECIMAL(38, 12)) AS p_alive
    FROM clv
) c
GROUP BY ltv_tier, tier_order
ORDER BY tier_order
