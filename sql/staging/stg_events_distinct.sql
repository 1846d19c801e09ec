-- stg_events_distinct: the events export de-duplicated — one row per event_id — up to the
-- end of the as-of day ($as_of_end), rows without event_id, customer_id or event_time left
-- out. stg_events fills in the sessions.
--
-- Exports repeat rows (at-least-once delivery): exact repeats collapse into one. An event_id
-- that comes with different contents (rare) keeps its earliest row, then the one with the
-- lowest session id, customer id, event name, channel, campaign and device — every column in
-- turn, so the choice never depends on the order of rows in the files.
--
-- One grouped aggregate: arg_min (a journey-report function) with one argument keeps the
-- smallest of the rows, each row a struct compared field by field in the order above
-- (event_time first), NULLS LAST, without storing the row a second time as its own key.
--
-- Columns: event_id, customer_id, event_time (TIMESTAMP, UTC), event_name, channel,
-- campaign, device, session_id.
WITH firsts AS (
    SELECT event_id,
           arg_min(named_struct('event_time', event_time, 'session_id', session_id,
                                'customer_id', customer_id, 'event_name', event_name,
                                'channel', channel, 'campaign', campaign, 'device', device)
           ) AS e
    FROM events
    WHERE event_time < $as_of_end
      AND event_id IS NOT NULL
      AND customer_id IS NOT NULL
      AND event_time IS NOT NULL
    GROUP BY event_id
)
SELECT event_id,
       e['customer_id'] AS customer_id,
       e['event_time'] AS event_time,
       e['event_name'] AS event_name,
       e['channel'] AS channel,
       e['campaign'] AS campaign,
       e['device'] AS device,
       e['session_id'] AS session_id
FROM firsts
