-- stg_events_distinct: the events export with exact repeated rows dropped, up to the end of
-- the as-of day ($as_of_end), rows without event_id, customer_id or event_time left out.
-- stg_events finishes the de-duplication on event_id and fills in sessions.
--
-- Columns: event_id, customer_id, event_time (TIMESTAMP, UTC), event_name, channel,
-- campaign, device, session_id.
SELECT DISTINCT event_id, customer_id, event_time, event_name, channel, campaign, device, session_id
FROM events
WHERE event_time < $as_of_end
  AND event_id IS NOT NULL
  AND customer_id IS NOT NULL
  AND event_time IS NOT NULL
