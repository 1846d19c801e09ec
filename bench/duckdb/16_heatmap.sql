-- heatmap (sql/marts/heatmap/heatmap.sql): events of the report period by ISO day of week × local hour
-- ($report_tz), all 168 cells.
WITH counted AS (
    SELECT isodow(t) AS day_of_week, hour(t) AS hour,
           count(*) AS events, count(DISTINCT customer_id) AS customers
    FROM (SELECT customer_id, timezone($report_tz, timezone('UTC', event_time)) AS t
          FROM stg_events WHERE event_time >= $period_start)
    GROUP BY ALL
)
SELECT d.day_of_week,
       ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][d.day_of_week] AS day_name,
       h.hour,
       COALESCE(k.events, 0) AS events,
       COALESCE(k.customers, 0) AS customers
FROM range(1, 8) d(day_of_week)
CROSS JOIN range(0, 24) h(hour)
LEFT JOIN counted k ON k.day_of_week = d.day_of_week AND k.hour = h.hour
ORDER BY d.day_of_week, h.hour
