-- Funnel stages reached per customer with window_funnel() (ClickHouse windowFunnel, default
-- mode), summarised as customers per deepest stage. Input: the events source as exported.
SELECT stages_reached, count(*) AS customers
FROM (
    SELECT e.customer_id,
           window_funnel($conversion_window_days * 86400, '', e.event_time, f.stage_index) AS stages_reached
    FROM events e JOIN funnel_stages f ON f.event_name = e.event_name
    WHERE e.event_time >= $period_start AND e.event_time < $as_of_end
    GROUP BY e.customer_id
) l
GROUP BY stages_reached ORDER BY stages_reached
