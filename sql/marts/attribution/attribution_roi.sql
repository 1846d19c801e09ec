-- attribution_roi: marketing spend against attributed results — CAC and ROAS per channel
-- under each attribution model.
--
-- cost: the spend export (stg_spend: date, channel, campaign, cost) summed per channel
-- over the days of the report period (from $period_start to the end of the as-of day). A
-- project without a spend export has an empty `spend` table: cost is 0 and CAC/ROAS NULL.
-- CAC (customer acquisition cost) = cost / attributed conversions; ROAS (return on ad
-- spend) = attributed revenue / cost. Both NULL where the denominator is 0.
--
-- Columns: channel (VARCHAR), model (VARCHAR: first_touch … shapley), model_label (VARCHAR:
-- 'First touch' …), model_order (BIGINT, 1–8, the order of the report's table), cost (DOUBLE,
-- currency units), has_spend (BOOLEAN: cost > 0), conversions (DOUBLE), revenue (DOUBLE), cac (DOUBLE, currency units per
-- conversion), roas (DOUBLE, revenue per unit of cost).
WITH cost AS (
    SELECT channel, CAST(sum(CAST(cost AS DECIMAL(38, 6))) AS DOUBLE) AS cost
    FROM stg_spend
    WHERE date >= $period_start AND date < $as_of_end
    GROUP BY channel
),
credits AS (
    SELECT channel, 'first_touch' AS model, first_touch_conversions AS conversions, first_touch_revenue AS revenue FROM attribution
    UNION ALL SELECT channel, 'last_touch', last_touch_conversions, last_touch_revenue FROM attribution
    UNION ALL SELECT channel, 'last_non_direct', last_non_direct_conversions, last_non_direct_revenue FROM attribution
    UNION ALL SELECT channel, 'linear', linear_conversions, linear_revenue FROM attribution
    UNION ALL SELECT channel, 'time_decay', time_decay_conversions, time_decay_revenue FROM attribution
    UNION ALL SELECT channel, 'position_based', position_based_conversions, position_based_revenue FROM attribution
    UNION ALL SELECT channel, 'markov', markov_conversions, markov_revenue FROM attribution
    UNION ALL SELECT channel, 'shapley', shapley_conversions, shapley_revenue FROM attribution
),
channels AS (
    SELECT channel FROM attribution UNION SELECT channel FROM cost
),
models AS (
    SELECT * FROM (VALUES
        ('first_touch', 'First touch', 1), ('last_touch', 'Last touch', 2),
        ('last_non_direct', 'Last non-direct', 3), ('linear', 'Linear', 4),
        ('time_decay', 'Time decay', 5), ('position_based', 'Position-based', 6),
        ('markov', 'Markov chain', 7), ('shapley', 'Shapley value', 8)
    ) AS m(model, model_label, model_order)
)
SELECT
    ch.channel,
    m.model,
    m.model_label,
    CAST(m.model_order AS BIGINT) AS model_order,
    COALESCE(c.cost, 0.0) AS cost,
    COALESCE(c.cost, 0.0) > 0 AS has_spend,
    COALESCE(k.conversions, 0.0) AS conversions,
    COALESCE(k.revenue, 0.0) AS revenue,
    c.cost / NULLIF(k.conversions, 0.0) AS cac,
    k.revenue / NULLIF(c.cost, 0.0) AS roas
FROM channels ch
CROSS JOIN models m
LEFT JOIN credits k ON k.channel = ch.channel AND k.model = m.model
LEFT JOIN cost c ON c.channel = ch.channel
ORDER BY channel, model_order
