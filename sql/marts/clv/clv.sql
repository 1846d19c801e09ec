-- clv: predicted customer lifetime value per customer of clv_summary, from the models of
-- clv_fit, over the next $clv_horizon_months months (a month = 30 days) discounted at
-- $clv_monthly_discount_rate per month — the formula of lifetimes'
-- GammaGammaFitter.customer_lifetime_value:
--   CLV = Σ_{i=1..H} (E[Y(30 i)] − E[Y(30 (i−1))]) · E[M] / (1 + d)^i
-- with E[Y(t)] the BG/NBD expected purchases in the next t days given the customer's history
-- (Fader, Hardie & Lee 2005, eq. 10) and E[M] the Gamma-Gamma expected spend per purchase.
--
-- Fallbacks, each stated in the column method ('bg_nbd × gamma_gamma' when both fits
-- converged): when the BG/NBD fit did not converge (clv_fit says why), or its prediction
-- cannot be evaluated for a customer (NULL), the purchase rate is the customer's own repeat
-- rate frequency / t per day ('historical_rate') and p_alive is NULL; when the Gamma-Gamma fit did not, the spend per purchase is the customer's
-- historical mean order value ('historical_value').
--
-- LTV tier by predicted CLV: 'Top 5%', 'Next 15%', 'Next 30%', 'Bottom 50%' (ties by
-- customer_id).
--
-- Columns: customer_id, frequency, recency, t (DOUBLE, days), monetary_value,
-- historical_revenue (DOUBLE, currency units), days_since_last_purchase (BIGINT), p_alive
-- (DOUBLE 0–1), expected_purchases (DOUBLE, in the horizon), expected_order_value (DOUBLE,
-- currency units), predicted_clv (DOUBLE, currency units, discounted), method (VARCHAR: purchases × value),
-- ltv_tier (VARCHAR), tier_order (BIGINT, 1 = top).
WITH f AS (SELECT * FROM clv_fit),
model AS (
    SELECT
        s.*,
        COALESCE(f.gamma_gamma_converged, false) AS gg_ok,
        CASE WHEN f.bg_nbd_converged
             THEN bg_nbd_p_alive(f.r, f.alpha, f.a, f.b, s.frequency, s.recency, s.t) END AS bg_p_alive,
        CASE WHEN f.bg_nbd_converged
             THEN bg_nbd_expected_purchases(f.r, f.alpha, f.a, f.b, $clv_horizon_months * 30.0, s.frequency, s.recency, s.t) END AS bg_purchases,
        CASE WHEN f.bg_nbd_converged
             THEN bg_nbd_discounted_purchases(f.r, f.alpha, f.a, f.b, s.frequency, s.recency, s.t, $clv_horizon_months, $clv_monthly_discount_rate) END AS bg_discounted,
        CASE WHEN f.gamma_gamma_converged
             THEN gamma_gamma_expected_value(f.p, f.q, f.v, s.frequency, s.monetary_value) END AS gg_value
    FROM clv_summary s CROSS JOIN f
),
scored AS (
    SELECT
        customer_id, frequency, recency, t, monetary_value, historical_revenue,
        days_since_last_purchase,
        bg_discounted IS NOT NULL AS bg_ok,
        gg_ok,
        CASE WHEN bg_discounted IS NOT NULL THEN bg_p_alive END AS p_alive,
        CASE WHEN bg_discounted IS NOT NULL THEN bg_purchases
             ELSE frequency / GREATEST(t, 1.0) * $clv_horizon_months * 30.0 END AS expected_purchases,
        COALESCE(
            bg_discounted,
            frequency / GREATEST(t, 1.0) * 30.0
              * CASE WHEN $clv_monthly_discount_rate > 0
                     THEN (1.0 - power(1.0 + $clv_monthly_discount_rate, -$clv_horizon_months)) / $clv_monthly_discount_rate
                     ELSE CAST($clv_horizon_months AS DOUBLE) END
        ) AS discounted_purchases,
        COALESCE(gg_value, historical_revenue / (frequency + 1.0)) AS expected_order_value
    FROM model
),
valued AS (
    SELECT *,
           discounted_purchases * expected_order_value AS predicted_clv,
           CASE WHEN bg_ok THEN 'bg_nbd' ELSE 'historical_rate' END || ' × '
             || CASE WHEN gg_ok THEN 'gamma_gamma' ELSE 'historical_value' END AS method
    FROM scored
),
ranked AS (
    SELECT *, percent_rank() OVER (ORDER BY predicted_clv DESC, customer_id) AS clv_rank
    FROM valued
)
SELECT
    customer_id, frequency, recency, t, monetary_value, historical_revenue,
    days_since_last_purchase, p_alive, expected_purchases, expected_order_value, predicted_clv,
    method,
    CASE WHEN clv_rank < 0.05 THEN 'Top 5%' WHEN clv_rank < 0.20 THEN 'Next 15%'
         WHEN clv_rank < 0.50 THEN 'Next 30%' ELSE 'Bottom 50%' END AS ltv_tier,
    CAST(CASE WHEN clv_rank < 0.05 THEN 1 WHEN clv_rank < 0.20 THEN 2
         WHEN clv_rank < 0.50 THEN 3 ELSE 4 END AS BIGINT) AS tier_order
FROM ranked
ORDER BY predicted_clv DESC, customer_id
