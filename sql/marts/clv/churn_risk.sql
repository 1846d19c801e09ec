-- churn_risk: valuable customers who are slipping away — the follow-up list for the CRM team
-- (data/churn_risk.csv).
--
-- A customer is listed when their historical revenue is in the top 20% of the customers of
-- clv and their BG/NBD P(alive) has fallen below $churn_p_alive_threshold (default 0.5).
-- Sorted by historical revenue, highest first. Empty when the BG/NBD fit did not converge
-- (P(alive) unknown).
--
-- Columns: customer_id, email, full_name (VARCHAR, from the CRM export; NULL when the
-- customer is missing there), historical_revenue (DOUBLE, currency units), frequency
-- (DOUBLE, repeat purchases), days_since_last_purchase (BIGINT), p_alive (DOUBLE 0–1),
-- predicted_clv (DOUBLE, currency units), ltv_tier (VARCHAR).
WITH ranked AS (
    SELECT *, percent_rank() OVER (ORDER BY historical_revenue DESC, customer_id) AS revenue_rank
    FROM clv
)
SELECT r.customer_id, c.email, c.full_name, r.historical_revenue, r.frequency,
       r.days_since_last_purchase, r.p_alive, r.predicted_clv, r.ltv_tier
FROM ranked r
LEFT JOIN stg_customers c ON c.customer_id = r.customer_id
WHERE r.revenue_rank < 0.20
  AND r.p_alive < $churn_p_alive_threshold
ORDER BY r.historical_revenue DESC, r.customer_id
