-- load/events: move this load's staged analytics events into `events`.
-- Natural key event_key (GA4: keyed hash of the event identity, see connectors/files/ga4.py):
-- repeats inside the file and events already stored are skipped, so re-loading an export
-- changes nothing. The key is a hash over the event's time among others, so a stored copy lies
-- within the staged events' time range: looking only there lets DuckDB skip the row groups
-- outside it (as load/spans.sql). The first INSERT's count is the number of rows loaded.
SET VARIABLE parallax_lo = (SELECT min(occurred_at) - INTERVAL 1 DAY FROM stage_events);
SET VARIABLE parallax_hi = (SELECT max(occurred_at) + INTERVAL 1 DAY FROM stage_events);
INSERT INTO events BY NAME
SELECT * EXCLUDE (_rn)
FROM (
    SELECT *, row_number() OVER (PARTITION BY event_key ORDER BY session_id NULLS LAST) AS _rn
    FROM stage_events
) AS s
WHERE _rn = 1
  AND NOT EXISTS (
      SELECT 1 FROM events AS t
      WHERE t.occurred_at BETWEEN getvariable('parallax_lo') AND getvariable('parallax_hi')
        AND t.event_key = s.event_key);

-- Analytics sessions whose events carried the shared session id only in part — a GA4
-- session (properties.ga4_session, the composite) or a Snowplow domain session
-- (properties.snowplow_session, domain_sessionid) — are mapped to the shared id seen on their
-- other events: in this file, or stored from an earlier file within a day of this file's
-- events (a GA4 session spans at most midnight, a Snowplow session times out after 30 min of
-- inactivity; the time bound keeps the scan to the same days). One shared id per own session
-- (the smallest if a session carried several). page_views.sql and sessions.sql apply the same
-- map; sessions.sql drops it.
CREATE OR REPLACE TEMP TABLE _session_alias AS
WITH staged AS (
    SELECT coalesce(properties->>'$.ga4_session', properties->>'$.snowplow_session')
               AS own_session,
           session_id, occurred_at
    FROM stage_events
    WHERE source IN ('ga4-ndjson', 'snowplow-tsv', 'snowplow-json')
),
bounds AS (
    SELECT min(occurred_at) - INTERVAL 1 DAY AS lo, max(occurred_at) + INTERVAL 1 DAY AS hi
    FROM staged
    WHERE own_session IS NOT NULL
),
pairs AS (
    SELECT own_session, session_id FROM staged
    UNION ALL
    SELECT coalesce(e.properties->>'$.ga4_session', e.properties->>'$.snowplow_session'),
           e.session_id
    FROM events AS e, bounds AS b
    WHERE e.occurred_at BETWEEN b.lo AND b.hi
      AND e.source IN ('ga4-ndjson', 'snowplow-tsv', 'snowplow-json')
      AND e.load_id <> $load_id  -- this load's rows are the staged ones: parsed once, above
      AND NOT regexp_full_match(e.session_id, '[0-9a-f]{32}\.[0-9]+')
)
SELECT own_session, min(session_id) AS shared
FROM pairs
WHERE own_session IN (SELECT own_session FROM staged)
  AND session_id <> own_session
GROUP BY own_session;

UPDATE events SET session_id = a.shared
FROM _session_alias AS a
WHERE events.session_id = a.own_session;
