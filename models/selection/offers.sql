-- selection_offers: per survey offer (the survey was shown to a session) in the window,
-- answered or not, with what that session's page had delivered when the survey was shown.
-- It is the propensity model's frame (correlate/selection.py): who answers among those asked.
-- Offers: `survey_offers` rows, plus analytics events whose name is one of $offer_events
-- (GA4 survey_impression / survey_shown; survey id from the event's survey_id parameter).
-- The page: the latest page load of the offer's session on the offer's route at or before the
-- offer (any route when the offer names none) — the session link of exposure_responses.
-- "The latest page load at or before" is a join on the session (and route) and the time order,
-- then the latest per offer (arg_max, ties broken by page_key), and "answered" a join on the
-- answered offers: portable SQL that Spark runs too (no ASOF join, no IN subquery outside a
-- filter), as in models/exposure/030_responses.sql.
-- Answered: a response of the same session that began (started_at, else submitted) at most
-- $grace_seconds before the offer or any time after it, attached to the latest offer of the
-- session at or before that moment (selection_links). Responses without a session id meet no
-- offer: a share of answers lost evenly only scales every propensity, which stabilised
-- weights cancel.
--   log_load_s   ln(load seconds), as in exposure_responses (a server-only time only when no
--                page has a browser or analytics timing)
--   deps         per dependency the page called: failed (0/1)
-- Parameters: $offer_events VARCHAR[], $grace_seconds INTEGER,
--             $since TIMESTAMPTZ, $until TIMESTAMPTZ (NULL = open)
CREATE OR REPLACE TABLE selection_offers AS
WITH raw AS (
    SELECT offer_key, source, survey, session_id, offered_at, route FROM survey_offers
    UNION ALL
    SELECT event_key, source, properties->>'$.params.survey_id', session_id, occurred_at, route
    FROM events
    WHERE list_contains($offer_events::VARCHAR[], name)
),
o AS (
    SELECT * FROM raw
    WHERE session_id IS NOT NULL
      AND ($since::TIMESTAMPTZ IS NULL OR offered_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR offered_at < $until::TIMESTAMPTZ)
),
paged AS (
    SELECT o.offer_key, arg_max(p.page_key, {'at': p.started_at, 'key': p.page_key})
               AS page_key
    FROM o JOIN exposure_pages AS p
      ON p.session_id = o.session_id AND p.route = o.route AND p.started_at <= o.offered_at
    GROUP BY o.offer_key
    UNION ALL
    SELECT o.offer_key, arg_max(p.page_key, {'at': p.started_at, 'key': p.page_key})
    FROM o JOIN exposure_pages AS p
      ON p.session_id = o.session_id AND p.started_at <= o.offered_at
    WHERE o.route IS NULL
    GROUP BY o.offer_key
),
answered AS (SELECT DISTINCT offer_key FROM selection_links),
server_only AS (
    SELECT NOT coalesce(bool_or(load_source <> 'server'), false) AS yes FROM exposure_pages
)
SELECT o.offer_key, o.source, o.survey, o.session_id, o.offered_at,
       coalesce(o.route, p.route) AS route, ses.device, ses.country, ses.segment,
       coalesce(ses.user_id, o.session_id) AS cluster_key,
       a.offer_key IS NOT NULL AS answered,
       p.load_ms,
       CASE WHEN p.load_ms > 0 AND (p.load_source <> 'server' OR (SELECT yes FROM server_only))
            THEN ln(p.load_ms / 1000.0) END AS log_load_s,
       p.error_seen::DOUBLE AS error_seen,
       coalesce(list_transform(p.deps, lambda x: {'peer': x.peer, 'failed': x.failed::DOUBLE}),
                []) AS deps
FROM o
LEFT JOIN paged AS pg USING (offer_key)
LEFT JOIN exposure_pages AS p ON p.page_key = pg.page_key
LEFT JOIN answered AS a ON a.offer_key = o.offer_key
LEFT JOIN sessions AS ses ON ses.session_id = o.session_id;
