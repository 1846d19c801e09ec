-- paths_top_forward: the most common whole paths after $path_start_event (the same paths as
-- paths_forward: the first such event of a session and up to $path_steps events after it in
-- the session, consecutive repeats collapsed: stg_paths_forward), as text.
--
-- Columns: path (VARCHAR, 'add_to_cart > checkout_start > purchase'), steps (BIGINT: events
-- after the start), sessions (BIGINT), share (DOUBLE: of the sessions with the start event).
WITH paths AS (
    SELECT array_to_string(array_slice(names, 1, $path_steps + 1), ' > ') AS path,
           CAST(least(array_length(names), $path_steps + 1) - 1 AS BIGINT) AS steps
    FROM stg_paths_forward
)
SELECT path, steps, count(*) AS sessions,
       CAST(count(*) AS DOUBLE) / sum(count(*)) OVER () AS share
FROM paths
GROUP BY path, steps
ORDER BY sessions DESC, path
LIMIT $top_paths
