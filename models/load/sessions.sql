-- load/sessions: merge this load's staged session aggregates into `sessions`.
-- Natural key session_id; a session may span files and loads: started_at = earliest,
-- ended_at = latest, converted = any, attributes = first known (the stored row wins),
-- revenue = the larger value (a session attribute in generic page-view files). Every rule
-- is idempotent: loading a file twice changes nothing. load_id = the load that first
-- stored the session. Runs after events.sql and page_views.sql (it reads stored events).
-- The INSERT's count is the number of sessions inserted or updated.
-- The GA4 composite / Snowplow domain session → shared session id map (events.sql);
-- empty for other formats.
CREATE TEMP TABLE IF NOT EXISTS _session_alias (own_session VARCHAR, shared VARCHAR);

-- Staged sessions, and sessions stored under a GA4 composite or Snowplow domain session that
-- now has a shared id, are merged under their shared id (those own ids are dropped below).
INSERT INTO sessions (session_id, user_id, started_at, ended_at, device, country, segment,
                      converted, revenue, source, load_id)
SELECT coalesce(a.shared, s.session_id), any_value(s.user_id), min(s.started_at),
       max(s.ended_at), any_value(s.device), any_value(s.country), any_value(s.segment),
       bool_or(s.converted), max(s.revenue), any_value(s.source), any_value(s.load_id)
FROM (
    SELECT session_id, user_id, started_at, ended_at, device, country, segment,
           coalesce(converted, false) AS converted, coalesce(revenue, 0) AS revenue, source,
           load_id
    FROM stage_sessions
    UNION ALL
    SELECT session_id, user_id, started_at, ended_at, device, country, segment, converted,
           revenue, source, load_id
    FROM sessions
    WHERE session_id IN (SELECT own_session FROM _session_alias)
) AS s
LEFT JOIN _session_alias AS a ON a.own_session = s.session_id
GROUP BY coalesce(a.shared, s.session_id)
ON CONFLICT (session_id) DO UPDATE SET
    user_id    = coalesce(sessions.user_id, excluded.user_id),
    started_at = least(sessions.started_at, excluded.started_at),
    ended_at   = greatest(sessions.ended_at, excluded.ended_at),
    device     = coalesce(sessions.device, excluded.device),
    country    = coalesce(sessions.country, excluded.country),
    segment    = coalesce(sessions.segment, excluded.segment),
    converted  = sessions.converted OR excluded.converted,
    revenue    = greatest(sessions.revenue, excluded.revenue),
    source     = coalesce(sessions.source, excluded.source);

DELETE FROM sessions WHERE session_id IN (SELECT own_session FROM _session_alias);

-- GA4 conversions: revenue and converted of every touched session recomputed from the
-- stored, deduplicated purchase events — one per transaction_id (a confirmation page that
-- fires twice books once), else one per event — so a re-load never doubles revenue.
UPDATE sessions SET converted = true, revenue = p.revenue
FROM (
    SELECT session_id, sum(revenue) AS revenue
    FROM (
        SELECT session_id,
               coalesce(properties->>'$.transaction_id', event_key) AS tx,
               max(coalesce(TRY_CAST(properties->>'$.revenue' AS DOUBLE), 0)) AS revenue
        FROM events
        WHERE name = 'purchase' AND source = 'ga4-ndjson'
          AND session_id IN (
              SELECT coalesce(a.shared, s.session_id)
              FROM stage_sessions AS s
              LEFT JOIN _session_alias AS a ON a.own_session = s.session_id
          )
        GROUP BY session_id, tx
    ) AS purchases
    GROUP BY session_id
) AS p
WHERE sessions.session_id = p.session_id;

DROP TABLE _session_alias;
