-- exposure_pages: one row per page load — what one customer got on one page.
-- Kind: incremental. This file is a SELECT; parallax.exposure.refresh_pages runs it over all
-- spans (a full build) or over the sessions and traces new loads touched (pages_scope.sql), via
-- the temp views exposure_spans and exposure_page_views. Kept current at ingest time, so
-- `parallax correlate` never re-reads raw spans it has already folded in.
-- A page load is a trace holding a browser page-load span ($page_spans, e.g. documentLoad) or a
-- SERVER span; its analytics page view joins by trace_id. A server trace the browser did not
-- propagate to joins the page load of the same session and route in flight when it started.
-- Analytics page views with no trace count only for sessions that have no traced page at all
-- (never the same view twice). "Not among" is NOT EXISTS throughout: an anti join on the key in
-- both engines (Spark would broadcast a NOT IN subquery whole to every task).
--   load_ms      browser page-load span, else analytics timing, else the server span (a floor)
--   error_seen   the outermost SERVER span answered >= $error_status (or errored without a
--                status), or a client error event ($error_events) hit the page; NULL = unknown
--   deps         per dependency (peer of CLIENT/PRODUCER spans): calls, ms, failed, and
--                whether the page still came back fine (served) after the failure
-- Parameters: $page_spans VARCHAR[], $error_status INTEGER, $error_events VARCHAR[]
-- The two passes over spans read exposure_spans directly (no shared CTE), so neither engine
-- materialises a copy of the spans between them.
WITH calls AS (
    SELECT trace_id, peer, count(*) AS calls, sum(duration_ms) AS ms, bool_or(is_error) AS failed
    FROM exposure_spans
    WHERE kind IN ('client', 'producer') AND peer IS NOT NULL
    GROUP BY trace_id, peer
),
traced_raw AS (
    SELECT trace_id, started_at, srv.route AS server_route, brw.route AS browser_route,
           srv.service AS service, brw.ms AS browser_ms, srv.ms AS server_ms,
           srv.error AS server_error, session_id, user_id
    FROM (
        SELECT
            trace_id,
            min(started_at) AS started_at,
            -- the outermost (earliest) SERVER span speaks for the page: one struct, one pass
            arg_min({'route': route, 'service': service, 'ms': duration_ms,
                     'error': coalesce(status_code >= $error_status, is_error)}, started_at)
                FILTER (WHERE kind = 'server') AS srv,
            arg_max({'route': route, 'ms': duration_ms}, duration_ms)
                FILTER (WHERE kind <> 'server') AS brw,
            any_value(session_id) AS session_id,
            any_value(user_id) AS user_id
        FROM exposure_spans
        WHERE kind = 'server' OR list_contains($page_spans, name)
        GROUP BY trace_id
    )
),
browser AS (SELECT * FROM traced_raw WHERE browser_ms IS NOT NULL),
server_only AS (SELECT * FROM traced_raw WHERE browser_ms IS NULL),
-- Server traces the browser did not propagate to: adopted by the page load of the same session
-- and route that was in flight when they started.
adopted AS (  -- a hash join on session and route: cheap when every trace is propagated
    SELECT so.trace_id AS server_trace,
           arg_max(b.trace_id, b.started_at) AS page_trace, any_value(so.started_at) AS started_at,
           any_value(so.server_route) AS server_route, any_value(so.service) AS service,
           any_value(so.server_ms) AS server_ms, any_value(so.server_error) AS server_error,
           any_value(so.user_id) AS user_id
    FROM server_only AS so
    JOIN browser AS b
      ON b.session_id = so.session_id AND b.browser_route = so.server_route
     AND so.started_at >= b.started_at
     AND so.started_at <= b.started_at
                          + CAST(round(b.browser_ms * 1000) AS BIGINT) * INTERVAL 1 MICROSECOND
    GROUP BY so.trace_id
),
adopted_by_page AS (
    SELECT page_trace, arg_min(server_route, started_at) AS server_route,
           arg_min(service, started_at) AS service, max(server_ms) AS server_ms,
           bool_or(server_error) AS server_error, any_value(user_id) AS user_id
    FROM adopted
    GROUP BY page_trace
),
traced AS (
    SELECT b.trace_id, b.started_at, coalesce(b.server_route, a.server_route) AS server_route,
           b.browser_route, coalesce(b.service, a.service) AS service, b.browser_ms,
           coalesce(b.server_ms, a.server_ms) AS server_ms,
           coalesce(b.server_error, a.server_error) AS server_error, b.session_id,
           coalesce(b.user_id, a.user_id) AS user_id
    FROM browser AS b
    LEFT JOIN adopted_by_page AS a ON a.page_trace = b.trace_id
    UNION ALL
    SELECT trace_id, started_at, server_route, browser_route, service, browser_ms, server_ms,
           server_error, session_id, user_id
    FROM server_only AS so
    WHERE NOT EXISTS (SELECT 1 FROM adopted AS a WHERE a.server_trace = so.trace_id)
),
page_calls AS (  -- dependency calls of adopted server traces count for their page
    SELECT coalesce(a.page_trace, c.trace_id) AS trace_id, c.peer, sum(c.calls) AS calls,
           sum(c.ms) AS ms, bool_or(c.failed) AS failed
    FROM calls AS c
    LEFT JOIN adopted AS a ON a.server_trace = c.trace_id
    GROUP BY ALL
),
views AS (  -- one view per trace: a tag that fired twice is still one page load
    SELECT trace_id, event_key, session_id, route, viewed_at, load_ms
    FROM exposure_page_views
    QUALIFY trace_id IS NULL
         OR row_number() OVER (PARTITION BY trace_id ORDER BY viewed_at, event_key) = 1
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
    WHERE NOT EXISTS (SELECT 1 FROM traced AS t WHERE t.trace_id = v.trace_id)
      AND NOT EXISTS (SELECT 1 FROM traced_sessions AS ts WHERE ts.session_id = v.session_id)
),
client_errors AS (  -- client error events, matched to the latest page load of their session
    SELECT page_key, count(*) AS n
    FROM (SELECT e.event_key, arg_max(coalesce(j.trace_id, j.event_key), j.started_at) AS page_key
          FROM events AS e
          JOIN joined AS j
            ON j.session_id = e.session_id AND j.route IS NOT DISTINCT FROM e.route
           AND e.occurred_at >= j.started_at
          WHERE list_contains($error_events, e.name)
          GROUP BY e.event_key)
    GROUP BY page_key
),
dep_lists AS (
    SELECT trace_id,
           list({'peer': peer, 'calls': calls, 'ms': ms, 'failed': failed}) AS deps
    FROM page_calls
    GROUP BY trace_id
)
SELECT
    coalesce(j.trace_id, j.event_key) AS page_key,
    j.trace_id, j.event_key, j.session_id, j.user_id, j.route, j.service, j.started_at,
    j.load_ms, j.load_source, j.server_ms,
    CASE WHEN ce.n > 0 THEN true ELSE j.server_error END AS error_seen,
    coalesce(d.deps, []) AS deps
FROM joined AS j
LEFT JOIN client_errors AS ce ON ce.page_key = coalesce(j.trace_id, j.event_key)
LEFT JOIN dep_lists AS d ON d.trace_id = j.trace_id
WHERE j.route IS NOT NULL
