-- stg_journeys: one row per customer journey, the input of the data-driven attribution
-- models (attribution_markov, attribution_shapley) and of the paths report.
--
-- Converting journeys: one per completed order of the report period — its customer's
-- touchpoints (sessions) in the $lookback_days days before the order (stg_order_touchpoints;
-- an order without a touchpoint in the window has the path ['(no touchpoint)']).
-- Non-converting journeys: one per customer with no completed order in the report period
-- and sessions in the $non_converting_window_days days up to the end of the as-of day (by
-- default the report period) — those sessions. (The lookback window of converting journeys,
-- $lookback_days before each order, is a different window: a non-converting journey has no
-- order to look back from.)
--
-- Columns: journey_id (VARCHAR: the order_id, or the customer_id of a non-converting
-- journey), customer_id, path (LIST<VARCHAR>: channels of the touchpoints in time order,
-- repeats kept; equal start times ordered by session_id), converted (BOOLEAN), revenue
-- (DOUBLE, currency units; 0 for a non-converting journey).
-- Rows ordered by converted DESC, journey_id ((converted, journey_id) is unique): its data
-- file is the same on every run.
WITH converting AS (
    SELECT order_id AS journey_id,
           max(customer_id) AS customer_id,
           path_agg(channel, position) AS path,
           true AS converted,
           max(amount) AS revenue
    FROM stg_order_touchpoints
    GROUP BY order_id
),
buyers AS (
    SELECT DISTINCT customer_id FROM stg_orders WHERE completed AND order_time >= $period_start
),
non_converting AS (
    SELECT s.customer_id AS journey_id,
           s.customer_id,
           path_agg(s.channel, s.session_start, s.session_id) AS path,
           false AS converted,
           0.0 AS revenue
    FROM stg_sessions s
    WHERE s.session_start < $as_of_end
      AND date_part('epoch', $as_of_end) - date_part('epoch', s.session_start) <= $non_converting_window_days * 86400
      AND s.customer_id NOT IN (SELECT customer_id FROM buyers)
    GROUP BY s.customer_id
)
SELECT journey_id, customer_id, path, converted, revenue FROM converting
UNION ALL
SELECT journey_id, customer_id, path, converted, revenue FROM non_converting
ORDER BY converted DESC, journey_id
