-- attribution_markov_transitions: the transition matrix of the Markov chain behind
-- attribution_markov (same journeys, same order $markov_order), one row per observed
-- transition.
--
-- Columns: from_state, to_state (VARCHAR: '(start)', a channel — for order k > 1 the last k
-- channels joined by ' > ' — '(conversion)' or '(null)'), journeys (DOUBLE: transitions
-- observed), probability (DOUBLE: journeys / all transitions out of from_state).
WITH result AS (
    SELECT unnest(markov_transitions(
               path,
               CASE WHEN converted THEN 1.0 ELSE 0.0 END,
               CASE WHEN converted THEN 0.0 ELSE 1.0 END,
               $markov_order)) AS r
    FROM stg_journeys
)
SELECT r['from_state'] AS from_state,
       r['to_state'] AS to_state,
       r['journeys'] AS journeys,
       r['probability'] AS probability
FROM result
ORDER BY from_state, probability DESC, to_state
