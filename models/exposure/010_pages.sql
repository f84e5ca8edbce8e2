-- exposure_pages: one row per page load — what one customer got on one page.
-- A page load is a trace holding a browser page-load span ($page_spans, e.g. documentLoad) or a
-- SERVER span; its analytics page view joins by trace_id. Analytics page views with no trace
-- count only for sessions that have no traced page at all (never the same view twice).
--   load_ms      browser page-load span, else analytics timing, else the server span (a floor)
--   error_seen   the outermost SERVER span answered >= $error_status (or errored without a
--                status), or a client error event ($error_events) hit the page; NULL = unknown
--   deps         per dependency (peer of CLIENT/PRODUCER spans): calls, ms, failed, and
--                whether the page still came back fine (served) after the failure
-- Parameters: $page_spans VARCHAR[], $error_status INTEGER, $error_events VARCHAR[],
--             $since TIMESTAMPTZ, $until TIMESTAMPTZ (NULL = open)
CREATE OR REPLACE TABLE exposure_pages AS
WITH s AS (
    SELECT trace_id, kind, name, started_at, duration_ms, is_error, status_code, route, peer,
           service, session_id, user_id
    FROM spans
    WHERE ($since::TIMESTAMPTZ IS NULL OR started_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR started_at < $until::TIMESTAMPTZ)
),
calls AS (
    SELECT trace_id, peer, count(*) AS calls, sum(duration_ms) AS ms, bool_or(is_error) AS failed
    FROM s
    WHERE kind IN ('client', 'producer') AND peer IS NOT NULL
    GROUP BY trace_id, peer
),
traced AS (
    SELECT
        trace_id,
        min(started_at) AS started_at,
        arg_min(route, started_at) FILTER (WHERE kind = 'server') AS server_route,
        arg_min(route, started_at) FILTER (WHERE kind <> 'server') AS browser_route,
        arg_min(service, started_at) FILTER (WHERE kind = 'server') AS service,
        max(duration_ms) FILTER (WHERE kind <> 'server') AS browser_ms,
        arg_min(duration_ms, started_at) FILTER (WHERE kind = 'server') AS server_ms,
        arg_min(coalesce(status_code >= $error_status, is_error), started_at)
            FILTER (WHERE kind = 'server') AS server_error,
        any_value(session_id) AS session_id,
        any_value(user_id) AS user_id
    FROM s
    WHERE kind = 'server' OR list_contains($page_spans, name)
    GROUP BY trace_id
),
views AS (
    SELECT trace_id, event_key, session_id, route, viewed_at, load_ms
    FROM page_views
    WHERE ($since::TIMESTAMPTZ IS NULL OR viewed_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR viewed_at < $until::TIMESTAMPTZ)
),
traced_sessions AS (
    SELECT DISTINCT session_id FROM traced WHERE session_id IS NOT NULL
),
joined AS (
    SELECT t.trace_id, v.event_key,
           coalesce(t.session_id, v.session_id) AS session_id,
           coalesce(t.user_id, ses.user_id) AS user_id,
           coalesce(t.server_route, t.browser_route, v.route) AS route,
           t.service,
           coalesce(t.started_at, v.viewed_at) AS started_at,
           coalesce(t.browser_ms, v.load_ms, t.server_ms) AS load_ms,
           CASE WHEN t.browser_ms IS NOT NULL THEN 'browser'
                WHEN v.load_ms IS NOT NULL THEN 'analytics'
                WHEN t.server_ms IS NOT NULL THEN 'server' END AS load_source,
           t.server_ms,
           t.server_error
    FROM traced AS t
    LEFT JOIN views AS v ON v.trace_id = t.trace_id
    LEFT JOIN sessions AS ses ON ses.session_id = coalesce(t.session_id, v.session_id)
    UNION ALL
    SELECT NULL, v.event_key, v.session_id, ses.user_id, v.route, NULL, v.viewed_at, v.load_ms,
           CASE WHEN v.load_ms IS NOT NULL THEN 'analytics' END, NULL, NULL
    FROM views AS v
    LEFT JOIN sessions AS ses ON ses.session_id = v.session_id
    WHERE (v.trace_id IS NULL OR v.trace_id NOT IN (SELECT trace_id FROM traced))
      AND v.session_id NOT IN (SELECT session_id FROM traced_sessions)
),
client_errors AS (  -- client error events, matched to the latest page load of their session
    SELECT j.trace_id, j.event_key, count(*) AS n
    FROM (SELECT session_id, route, occurred_at FROM events
          WHERE list_contains($error_events, name) AND session_id IS NOT NULL) AS e
    ASOF JOIN joined AS j
      ON j.session_id = e.session_id AND j.route IS NOT DISTINCT FROM e.route
     AND e.occurred_at >= j.started_at
    GROUP BY ALL
),
dep_lists AS (
    SELECT trace_id,
           list({'peer': peer, 'calls': calls, 'ms': ms, 'failed': failed} ORDER BY peer) AS deps
    FROM calls
    GROUP BY trace_id
)
SELECT
    coalesce(j.trace_id, j.event_key) AS page_key,
    j.trace_id, j.event_key, j.session_id, j.user_id, j.route, j.service, j.started_at,
    j.load_ms, j.load_source, j.server_ms,
    CASE WHEN ce.n > 0 THEN true ELSE j.server_error END AS error_seen,
    coalesce(d.deps, []) AS deps
FROM joined AS j
LEFT JOIN client_errors AS ce
       ON ce.trace_id IS NOT DISTINCT FROM j.trace_id
      AND ce.event_key IS NOT DISTINCT FROM j.event_key
LEFT JOIN dep_lists AS d ON d.trace_id = j.trace_id
WHERE j.route IS NOT NULL;
