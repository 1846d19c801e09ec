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
WITH ends AS (
    SELECT session_id, min(event_time) AS t_end
    FROM stg_events
    WHERE event_name = $path_end_event AND event_time >= $period_start
    GROUP BY session_id
),
before AS (
    SELECT e.session_id, e.event_time, e.event_id, e.event_name,
           lead(e.event_name) OVER (PARTITION BY e.session_id ORDER BY e.event_time, e.event_id) AS next_name
    FROM stg_events e JOIN ends s ON s.session_id = e.session_id AND e.event_time <= s.t_end
),
collapsed AS (
    SELECT session_id, event_name,
           row_number() OVER (PARTITION BY session_id ORDER BY event_time DESC, event_id DESC) - 1 AS step
    FROM before
    WHERE next_name IS NULL OR next_name <> event_name
),
links AS (
    SELECT a.step, COALESCE(b.event_name, '(entrance)') AS source, a.event_name AS target
    FROM collapsed a LEFT JOIN collapsed b ON b.session_id = a.session_id AND b.step = a.step + 1
    WHERE a.step < $path_steps
)
SELECT CAST(step AS BIGINT) AS step,
       CAST($path_steps - 1 - step AS BIGINT) AS column_index,
       source, target, count(*) AS sessions
FROM links
GROUP BY step, source, target
ORDER BY step, sessions DESC, source, target
