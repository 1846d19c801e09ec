-- clv_tiers: the LTV tiers of clv, with their customers, predicted and historical value.
--
-- Columns: ltv_tier (VARCHAR), tier_order (BIGINT), customers (BIGINT), predicted_clv,
-- avg_predicted_clv, historical_revenue (DOUBLE, currency units), avg_p_alive (DOUBLE 0–1),
-- share_of_predicted_clv (DOUBLE 0–1).
SELECT
    ltv_tier,
    tier_order,
    count(*) AS customers,
    sum(predicted_clv) AS predicted_clv,
    avg(predicted_clv) AS avg_predicted_clv,
    sum(historical_revenue) AS historical_revenue,
    avg(p_alive) AS avg_p_alive,
    sum(predicted_clv) / NULLIF(sum(sum(predicted_clv)) OVER (), 0) AS share_of_predicted_clv
FROM clv
GROUP BY ltv_tier, tier_order
ORDER BY tier_order
