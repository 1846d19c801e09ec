-- attribution_shapley: Shapley-value attribution over channel coalitions (Zhao, Mahboobi &
-- Bagheri 2018, "Shapley Value Methods for Attribution Modeling in Online Advertising").
--
-- Every journey of stg_journeys is reduced to its set of channels. The value of a coalition
-- S of channels is the number of conversions of the journeys whose channel set lies within S
-- (Zhao et al.'s v(S)); a channel's Shapley value is its average marginal contribution over
-- all orders in which the channels can join. Shares of the conversions and of the revenue
-- are proportional to the Shapley values. For this additive value function the closed form
-- is exact at any number of channels; shapley_attribution(..., 'conversion_rate') uses the
-- conversion rate instead (exact enumeration up to 15 channels, a seeded Monte-Carlo
-- approximation beyond, flagged in the column approximate).
--
-- Columns: channel (VARCHAR), shapley_value (DOUBLE), shapley_conversions, shapley_revenue
-- (DOUBLE; revenue in currency units), approximate (BOOLEAN). One row per channel, ordered by
-- channel.
WITH journeys AS (
    -- One row per distinct path with its revenue added up exactly (DECIMAL), so the result
    -- does not depend on the order in which the journeys arrive.
    SELECT path,
           sum(CASE WHEN converted THEN 1.0 ELSE 0.0 END) AS conversions,
           sum(CASE WHEN converted THEN 0.0 ELSE 1.0 END) AS nulls,
           CAST(sum(CAST(revenue AS DECIMAL(38, 6))) AS DOUBLE) AS revenue
    FROM stg_journeys
    GROUP BY path
),
result AS (
    SELECT unnest(shapley_attribution(path, conversions, nulls, revenue, 'conversions')) AS r
    FROM journeys
)
SELECT r['channel'] AS channel,
       r['shapley_value'] AS shapley_value,
       r['conversions'] AS shapley_conversions,
       r['revenue'] AS shapley_revenue,
       r['approximate'] AS approximate
FROM result
ORDER BY channel
