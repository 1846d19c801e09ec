-- attribution_markov: Markov-chain attribution of order $markov_order (default 1) over every
-- journey of stg_journeys, converting and non-converting (Anderl et al. 2016; the
-- ChannelAttribution package's markov_model).
--
-- States: (start), one state per channel (order k: the last k channels), (conversion),
-- (null). Transition probabilities are the observed transition counts, normalised per state.
-- The removal effect of a channel is the relative drop of the probability of reaching
-- (conversion) from (start) when every state holding the channel leads to (null) instead;
-- both probabilities are solved exactly from the absorbing chain (fundamental matrix,
-- linear solve) — no simulation, no matrix powers. A channel's share of the conversions and
-- of the revenue is its removal effect over the sum of all removal effects.
-- markov_attribution() is documented in src/functions/; the transition matrix is the
-- model attribution_markov_transitions.
--
-- Columns: channel (VARCHAR), removal_effect (DOUBLE, 0–1), markov_conversions,
-- markov_revenue (DOUBLE; revenue in currency units). One row per channel, ordered by channel.
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
    SELECT unnest(markov_attribution(path, conversions, nulls, revenue, $markov_order)) AS r
    FROM journeys
)
SELECT r['channel'] AS channel,
       r['removal_effect'] AS removal_effect,
       r['conversions'] AS markov_conversions,
       r['revenue'] AS markov_revenue
FROM result
ORDER BY channel
