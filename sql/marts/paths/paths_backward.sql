-- paths_backward: what sessions did before a chosen event — GA4 path exploration, backward.
--
-- In every session of the report period that holds a $path_end_event event, the path is the
-- events before its first such event in the same session, consecutive repeats collapsed,
-- read backwards from it: step 0 is the end event, step 1 the event just before, … up to
-- step $path_steps; a session that began closer to the end event flows from '(entrance)'.
--
-- Columns: step (BIGINT: steps before the end event of the *target*, 0 … $path_steps − 1),
-- column_index (BIGINT: $path_steps − 1 − step, the source's column when the flow is drawn
-- left to right, ending at the end event), source (VARCHAR: the event one step before the
-- target), target (VARCHAR), sessions (BIGINT). Read a row as "source, then target".
-- Built from stg_paths_backward (one collapsed path per session, newest first).
SELECT CAST(p.value AS BIGINT) AS step,
       CAST($path_steps - 1 - p.value AS BIGINT) AS column_index,
       COALESCE(b.names[p.value + 2], '(entrance)') AS source,
       b.names[p.value + 1] AS target,
       count(*) AS sessions
FROM stg_paths_backward b CROSS JOIN generate_series(0, $path_steps - 1) AS p(value)
WHERE p.value < array_length(b.names)
GROUP BY 1, 2, 3, 4
ORDER BY step, sessions DESC, source, target
