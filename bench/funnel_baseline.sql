-- What both funnel methods read: the events of the period joined to the funnel stages.
SELECT count(*) AS rows
FROM events e JOIN funnel_stages f ON f.event_name = e.event_name
WHERE e.event_time >= $period_start AND e.event_time < $as_of_end
