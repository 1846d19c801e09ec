-- stg_paths_forward: per session, the path after $path_start_event — GA4 path exploration,
-- forward — for paths_forward (the Sankey flows) and paths_top_forward (whole paths).
--
-- Every session of the report period that holds a $path_start_event event: its first such
-- event and every event after it in the same session, in time order (event id breaks ties),
-- consecutive repeats of one event name collapsed (view, view, cart → view, cart); events
-- without a name are left out. Built once here, read by both path models.
--
-- Columns: session_id (VARCHAR), names (LIST of VARCHAR: names[1] is $path_start_event).
-- Rows ordered by session_id (session_id is unique): its data file is the same on every run.
WITH starts AS (
    SELECT session_id, min(event_time) AS t0
    FROM stg_events
    WHERE event_name = $path_start_event AND event_time >= $period_start
    GROUP BY session_id
)
SELECT s.session_id,
       path_collapse(path_agg(e.event_name, e.event_time, e.event_id)) AS names
FROM stg_events e JOIN starts s ON s.session_id = e.session_id AND e.event_time >= s.t0
GROUP BY s.session_id
ORDER BY session_id
