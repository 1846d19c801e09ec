-- clv_fit: the BG/NBD purchase model and the Gamma-Gamma spend model fitted by maximum
-- likelihood to clv_summary (time unit: days). One row.
--
--   BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"): purchase
--   rates ~ Gamma(r, alpha) across customers, dropout probability after each purchase
--   ~ Beta(a, b).
--   Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013): spend per
--   purchase ~ Gamma(p, ν) with ν ~ Gamma(q, v) across customers; fitted on the customers
--   with at least one repeat purchase.
--
-- A fit that does not converge says so (converged = false, message) and the clv model falls
-- back to the historical purchase rate and order value for every customer; it is never a
-- silent NaN. bg_nbd_fit() and gamma_gamma_fit() are documented in src/functions/clv.rs.
--
-- Columns: r, alpha, a, b, bg_nbd_log_likelihood (DOUBLE), bg_nbd_customers (BIGINT),
-- bg_nbd_converged (BOOLEAN), bg_nbd_message (VARCHAR); p, q, v, gamma_gamma_log_likelihood,
-- gamma_gamma_customers, gamma_gamma_converged, gamma_gamma_message (same types);
-- gamma_gamma_excluded (BIGINT: repeat buyers left out of the Gamma-Gamma fit because their
-- repeat purchases have no positive mean spend).
WITH fits AS (
    SELECT bg_nbd_fit(frequency, recency, t) AS bg,
           -- Gamma-Gamma models positive spend: repeat buyers whose repeat purchases total
           -- nothing (free orders) are left out of the fit and counted, as lifetimes' users
           -- must do (its fit refuses non-positive values).
           gamma_gamma_fit(frequency, monetary_value)
               FILTER (WHERE frequency > 0 AND COALESCE(monetary_value > 0, false)) AS gg,
           count(*) FILTER (WHERE frequency > 0 AND NOT COALESCE(monetary_value > 0, false))
               AS gamma_gamma_excluded
    FROM clv_summary
)
SELECT
    bg['r'] AS r, bg['alpha'] AS alpha, bg['a'] AS a, bg['b'] AS b,
    bg['log_likelihood'] AS bg_nbd_log_likelihood,
    bg['customers'] AS bg_nbd_customers,
    bg['converged'] AS bg_nbd_converged,
    bg['message'] AS bg_nbd_message,
    gg['p'] AS p, gg['q'] AS q, gg['v'] AS v,
    gg['log_likelihood'] AS gamma_gamma_log_likelihood,
    gg['customers'] AS gamma_gamma_customers,
    gg['converged'] AS gamma_gamma_converged,
    gg['message'] AS gamma_gamma_message,
    gamma_gamma_excluded
FROM fits
