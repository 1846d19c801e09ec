-- funnel_time_to_convert: how long customers take between funnel stages — the distribution
-- of the time from the previous stage to each stage (stage 2 … N), and from stage 1 to the
-- last stage (stage_index 0, 'Whole funnel'), over the closed-funnel chains of the report
-- period (stg_funnel_customers).
--
-- Columns: stage_index (BIGINT; 0 = the whole funnel), stage (VARCHAR), bucket_order
-- (BIGINT), bucket (VARCHAR: '< 1 min', '1–5 min', '5–15 min', '15–60 min', '1–3 h',
-- '3–24 h', '1–3 d', '3+ d'), customers (BIGINT), share (DOUBLE: of the stage's customers).
WITH stages AS (SELECT DISTINCT stage_index, stage FROM funnel_stages),
n AS (SELECT max(stage_index) AS last FROM funnel_stages),
stage_seconds AS (
    SELECT s.stage_index, s.stage,
           date_part('epoch', array_element(p.stage_times, s.stage_index))
         - date_part('epoch', array_element(p.stage_times, s.stage_index - 1)) AS seconds
    FROM stg_funnel_customers p
    JOIN stages s ON s.stage_index >= 2 AND p.level >= s.stage_index
    WHERE p.period = 'current'
    UNION ALL
    SELECT CAST(0 AS BIGINT), 'Whole funnel',
           date_part('epoch', array_element(p.stage_times, n.last))
         - date_part('epoch', array_element(p.stage_times, 1))
    FROM stg_funnel_customers p CROSS JOIN n
    WHERE p.period = 'current' AND p.level >= n.last AND n.last >= 2
),
buckets AS (
    SELECT * FROM (VALUES
        (1, '< 1 min', 0.0, 60.0), (2, '1–5 min', 60.0, 300.0), (3, '5–15 min', 300.0, 900.0),
        (4, '15–60 min', 900.0, 3600.0), (5, '1–3 h', 3600.0, 10800.0), (6, '3–24 h', 10800.0, 86400.0),
        (7, '1–3 d', 86400.0, 259200.0), (8, '3+ d', 259200.0, 1e18)
    ) AS b(k, label, lo, hi)
),
grid AS (
    SELECT st.stage_index, st.stage, b.k, b.label, b.lo, b.hi
    FROM (SELECT DISTINCT stage_index, stage FROM stage_seconds) st CROSS JOIN buckets b
)
SELECT g.stage_index, g.stage, CAST(g.k AS BIGINT) AS bucket_order, g.label AS bucket,
       count(s.seconds) AS customers,
       CAST(count(s.seconds) AS DOUBLE) / NULLIF(sum(count(s.seconds)) OVER (PARTITION BY g.stage_index), 0) AS share
FROM grid g
LEFT JOIN stage_seconds s ON s.stage_index = g.stage_index AND s.seconds >= g.lo AND s.seconds < g.hi
GROUP BY g.stage_index, g.stage, g.k, g.label
ORDER BY g.stage_index, g.k
