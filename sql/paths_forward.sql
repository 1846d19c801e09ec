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
WITH starts AS (
    SELECT session_id, min(event_time) AS t0
    FROM stg_events
    WHERE event_name = $path_start_event AND event_time >= $period_start
    GROUP BY session_id
),
after AS (
    SELECT e.session_id, e.event_time, e.event_id, e.event_name,
           lag(e.event_name) OVER (PARTITION BY e.session_id ORDER BY e.event_time, e.event_id) AS prev_name
    FROM stg_events e JOIN starts s ON s.session_id = e.session_id AND e.event_time >= s.t0
),
collapsed AS (
    SELECT session_id, event_name,
           row_number() OVER (PARTITION BY session_id ORDER BY event_time, event_id) - 1 AS step
    FROM after
    WHERE prev_name IS NULL OR prev_name <> event_name
),
links AS (
    SELECT a.step, a.event_name AS source, COALESCE(b.event_name, '(exit)') AS target
    FROM collapsed a LEFT JOIN collapsed b ON b.session_id = a.session_id AND b.step = a.step + 1
    WHERE a.step < $path_steps
)
SELECT CAST(step AS BIGINT) AS step, source, target, count(*) AS sessions
FROM links
GROUP BY step, source, target
ORDER BY step, sessions DESC, source, target
