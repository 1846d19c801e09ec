-- stg_paths_backward: per session, the path before $path_end_event — GA4 path exploration,
-- backward — for paths_backward (the Sankey flows).
--
-- Every session of the report period that holds a $path_end_event event: the events up to
-- its first such event in the same session (time order, event id breaking ties; an event in
-- the same second with a higher id counts as after it), consecutive repeats of one event name
-- collapsed, read backwards: names[1] is the end event, names[2] the event just before it, …
-- Events without a name are left out.
--
-- Columns: session_id (VARCHAR), names (LIST of VARCHAR, newest first).
-- Rows ordered by session_id (session_id is unique): its data file is the same on every run.
WITH ends AS (
    SELECT session_id, min(event_time) AS t_end
    FROM stg_events
    WHERE event_name = $path_end_event AND event_time >= $period_start
    GROUP BY session_id
)
SELECT s.session_id,
       path_collapse(array_reverse(path_agg(e.event_name, e.event_time, e.event_id))) AS names
FROM stg_events e JOIN ends s ON s.session_id = e.session_id AND e.event_time <= s.t_end
GROUP BY s.session_id
ORDER BY session_id
