-- attribution: every attribution model side by side, one row per channel — the six
-- rule-based models of attribution_rules, Markov-chain attribution (attribution_markov) and
-- Shapley-value attribution (attribution_shapley). All credit the same completed orders of
-- the report period over the same $lookback_days-day lookback window, so every model's
-- conversions sum to the number of orders and its revenue to their revenue.
--
-- Columns: channel (VARCHAR), then <model>_conversions and <model>_revenue (DOUBLE; revenue
-- in currency units; 0 where a model gives the channel nothing) for model in first_touch,
-- last_touch, last_non_direct, linear, time_decay, position_based, markov, shapley; and
-- removal_effect (DOUBLE, 0–1, the Markov removal effect).
WITH channels AS (
    SELECT channel FROM attribution_rules
    UNION
    SELECT channel FROM attribution_markov
    UNION
    SELECT channel FROM attribution_shapley
)
SELECT
    c.channel,
    COALESCE(r.first_touch_conversions, 0.0) AS first_touch_conversions,
    COALESCE(r.first_touch_revenue, 0.0) AS first_touch_revenue,
    COALESCE(r.last_touch_conversions, 0.0) AS last_touch_conversions,
    COALESCE(r.last_touch_revenue, 0.0) AS last_touch_revenue,
    COALESCE(r.last_non_direct_conversions, 0.0) AS last_non_direct_conversions,
    COALESCE(r.last_non_direct_revenue, 0.0) AS last_non_direct_revenue,
    COALESCE(r.linear_conversions, 0.0) AS linear_conversions,
    COALESCE(r.linear_revenue, 0.0) AS linear_revenue,
    COALESCE(r.time_decay_conversions, 0.0) AS time_decay_conversions,
    COALESCE(r.time_decay_revenue, 0.0) AS time_decay_revenue,
    COALESCE(r.position_based_conversions, 0.0) AS position_based_conversions,
    COALESCE(r.position_based_revenue, 0.0) AS position_based_revenue,
    COALESCE(m.markov_conversions, 0.0) AS markov_conversions,
    COALESCE(m.markov_revenue, 0.0) AS markov_revenue,
    COALESCE(s.shapley_conversions, 0.0) AS shapley_conversions,
    COALESCE(s.shapley_revenue, 0.0) AS shapley_revenue,
    COALESCE(m.removal_effect, 0.0) AS removal_effect
FROM channels c
LEFT JOIN attribution_rules r ON r.channel = c.channel
LEFT JOIN attribution_markov m ON m.channel = c.channel
LEFT JOIN attribution_shapley s ON s.channel = c.channel
ORDER BY linear_revenue DESC, c.channel
