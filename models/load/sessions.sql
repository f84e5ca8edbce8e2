-- load/sessions: merge this load's staged session aggregates into `sessions`.
-- Natural key session_id; a session may span files and loads: started_at = earliest,
-- ended_at = latest, converted = any, attributes = first known (the stored row wins),
-- revenue = the larger value (a session attribute in generic page-view files). Every rule
-- is idempotent: loading a file twice changes nothing. load_id = the load that first
-- stored the session. Runs after events.sql and page_views.sql (it reads stored events).
-- The first statement's count is the number of sessions inserted or updated.
INSERT INTO sessions (session_id, user_id, started_at, ended_at, device, country, segment,
                      converted, revenue, source, load_id)
SELECT session_id, any_value(user_id), min(started_at), max(ended_at), any_value(device),
       any_value(country), any_value(segment), bool_or(coalesce(converted, false)),
       max(coalesce(revenue, 0)), any_value(source), any_value(load_id)
FROM stage_sessions
GROUP BY session_id
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

-- The GA4 composite → shared session id map (events.sql); empty for other formats.
CREATE TEMP TABLE IF NOT EXISTS _ga4_alias (ga_session VARCHAR, shared VARCHAR);

-- Fold sessions stored under a GA4 composite into the shared session id, then drop them.
INSERT INTO sessions (session_id, user_id, started_at, ended_at, device, country, segment,
                      converted, revenue, source, load_id)
SELECT a.shared, any_value(c.user_id), min(c.started_at), max(c.ended_at),
       any_value(c.device), any_value(c.country), any_value(c.segment), bool_or(c.converted),
       max(c.revenue), any_value(c.source), any_value(c.load_id)
FROM sessions AS c JOIN _ga4_alias AS a ON c.session_id = a.ga_session
GROUP BY a.shared
ON CONFLICT (session_id) DO UPDATE SET
    user_id    = coalesce(sessions.user_id, excluded.user_id),
    started_at = least(sessions.started_at, excluded.started_at),
    ended_at   = greatest(sessions.ended_at, excluded.ended_at),
    device     = coalesce(sessions.device, excluded.device),
    country    = coalesce(sessions.country, excluded.country),
    segment    = coalesce(sessions.segment, excluded.segment),
    converted  = sessions.converted OR excluded.converted,
    revenue    = greatest(sessions.revenue, excluded.revenue);

DELETE FROM sessions WHERE session_id IN (SELECT ga_session FROM _ga4_alias);

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
              FROM stage_sessions AS s LEFT JOIN _ga4_alias AS a ON a.ga_session = s.session_id
          )
        GROUP BY session_id, tx
    ) AS purchases
    GROUP BY session_id
) AS p
WHERE sessions.session_id = p.session_id;

DROP TABLE _ga4_alias;
