-- paths_forward: what sessions do after a chosen event — GA4 path exploration, forward —
-- as the flows between consecutive steps, for the Sankey chart of the paths page.
--
-- In every session of the report period that holds a $path_start_event event, the path is
-- that first event (step 0) and the events after it in the same session, consecutive repeats
-- of one event name collapsed (view, view, cart → view, cart), up to step $path_steps.
-- A session that ends before step $path_steps flows into '(exit)'.
--
-- Columns: step (BIGINT: the source step, 0 … $path_steps − 1), source, target (VARCHAR:
-- event names at step and step + 1), sessions (BIGINT).
-- Built from stg_paths_forward (one collapsed path per session).
SELECT CAST(p.value AS BIGINT) AS step,
       f.names[p.value + 1] AS source,
       COALESCE(f.names[p.value + 2], '(exit)') AS target,
       count(*) AS sessions
FROM stg_paths_forward f CROSS JOIN generate_series(0, $path_steps - 1) AS p(value)
WHERE p.value < array_length(f.names)
GROUP BY 1, 2, 3
ORDER BY step, sessions DESC, source, target
