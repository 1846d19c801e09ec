-- The same funnel stages reached in plain SQL with window functions: from every stage-1 event,
-- the earliest stage-k event at or after the chain's stage-(k-1) event and within the window of
-- its stage-1 event (min(...) OVER (... ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) over
-- the chain rows and the stage-k events, chain rows first on equal times). The deepest chain
-- per customer gives the stages it reached (ClickHouse: its level). Written for the 5 stages of
-- the bundled journey.toml.
WITH ev AS (SELECT e.customer_id, e.event_time AS t, f.stage_index AS stage
            FROM events e JOIN funnel_stages f ON f.event_name = e.event_name
            WHERE e.event_time >= $period_start AND e.event_time < $as_of_end),
c1 AS (SELECT customer_id, t AS t1, t AS tk FROM ev WHERE stage = 1),
c2 AS (SELECT customer_id, t1, nt AS tk FROM (
    SELECT customer_id, t1, kind, min(CASE WHEN kind = 1 THEN t END) OVER (
        PARTITION BY customer_id ORDER BY t, kind ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS nt
    FROM (SELECT customer_id, t1, tk AS t, 0 AS kind FROM c1
          UNION ALL SELECT customer_id, CAST(NULL AS TIMESTAMP), t, 1 FROM ev WHERE stage = 2) u) x
    WHERE kind = 0 AND nt IS NOT NULL
      AND date_part('epoch', nt) - date_part('epoch', t1) <= $conversion_window_days * 86400),
c3 AS (SELECT customer_id, t1, nt AS tk FROM (
    SELECT customer_id, t1, kind, min(CASE WHEN kind = 1 THEN t END) OVER (
        PARTITION BY customer_id ORDER BY t, kind ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS nt
    FROM (SELECT customer_id, t1, tk AS t, 0 AS kind FROM c2
          UNION ALL SELECT customer_id, CAST(NULL AS TIMESTAMP), t, 1 FROM ev WHERE stage = 3) u) x
    WHERE kind = 0 AND nt IS NOT NULL
      AND date_part('epoch', nt) - date_part('epoch', t1) <= $conversion_window_days * 86400),
c4 AS (SELECT customer_id, t1, nt AS tk FROM (
    SELECT customer_id, t1, kind, min(CASE WHEN kind = 1 THEN t END) OVER (
        PARTITION BY customer_id ORDER BY t, kind ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS nt
    FROM (SELECT customer_id, t1, tk AS t, 0 AS kind FROM c3
          UNION ALL SELECT customer_id, CAST(NULL AS TIMESTAMP), t, 1 FROM ev WHERE stage = 4) u) x
    WHERE kind = 0 AND nt IS NOT NULL
      AND date_part('epoch', nt) - date_part('epoch', t1) <= $conversion_window_days * 86400),
c5 AS (SELECT customer_id, t1, nt AS tk FROM (
    SELECT customer_id, t1, kind, min(CASE WHEN kind = 1 THEN t END) OVER (
        PARTITION BY customer_id ORDER BY t, kind ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS nt
    FROM (SELECT customer_id, t1, tk AS t, 0 AS kind FROM c4
          UNION ALL SELECT customer_id, CAST(NULL AS TIMESTAMP), t, 1 FROM ev WHERE stage = 5) u) x
    WHERE kind = 0 AND nt IS NOT NULL
      AND date_part('epoch', nt) - date_part('epoch', t1) <= $conversion_window_days * 86400),
plain AS (SELECT customer_id, max(stages_reached) AS stages_reached FROM (SELECT DISTINCT customer_id, 1 AS stages_reached FROM c1 UNION ALL SELECT DISTINCT customer_id, 2 AS stages_reached FROM c2 UNION ALL SELECT DISTINCT customer_id, 3 AS stages_reached FROM c3 UNION ALL SELECT DISTINCT customer_id, 4 AS stages_reached FROM c4 UNION ALL SELECT DISTINCT customer_id, 5 AS stages_reached FROM c5) l GROUP BY customer_id)
SELECT CAST(stages_reached AS BIGINT) AS stages_reached, count(*) AS customers FROM plain GROUP BY stages_reached ORDER BY stages_reached
