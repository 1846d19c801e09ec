-- paths_top_forward: the most common whole paths after $path_start_event (the same paths as
-- paths_forward: the first such event of a session and up to $path_steps events after it in
-- the session, consecutive repeats collapsed), as text.
--
-- Columns: path (VARCHAR, 'add_to_cart > checkout_start > purchase'), steps (BIGINT: events
-- after the start), sessions (BIGINT), share (DOUBLE: of the sessions with the start event).
WITH starts AS (
    SELECT session_id, min(event_time) AS t0
    FROM stg_events
    WHERE event_name = $path_start_event AND event_time >= $period_start
    GROUP BY session_id
),
seq AS (
    SELECT s.session_id,
           path_collapse(array_agg(e.event_name ORDER BY e.event_time, e.event_id)) AS names
    FROM stg_events e JOIN starts s ON s.session_id = e.session_id AND e.event_time >= s.t0
    GROUP BY s.session_id
),
paths AS (
    SELECT array_to_string(array_slice(names, 1, $path_steps + 1), ' > ') AS path,
           CAST(least(array_length(names), $path_steps + 1) - 1 AS BIGINT) AS steps
    FROM seq
)
SELECT path, steps, count(*) AS sessions,
       CAST(count(*) AS DOUBLE) / sum(count(*)) OVER () AS share
FROM paths
GROUP BY path, steps
ORDER BY sessions DESC, path
LIMIT $top_paths
