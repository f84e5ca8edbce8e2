-- exposure_session_routes: per analytics session and route visited, the worst it got there —
-- what the conversion model reads. A session's exposure is the max over its routes, so a
-- counterfactual "this route delivered well" only has to replace one row.
--   log_load_max   ln(seconds) of the slowest page load on the route (a server-only time
--                  counts only when no page has a browser or analytics timing, as in 020)
--   server_ms_max  the slowest backend (SERVER span) time behind those pages
--   error_any      any page on the route came back with an error (NULL: unknown)
--   deps           per dependency: failed / failed_served (0/1 for the route visit) and the
--                  page with the most call time: its ms and number of calls
-- Sessions without an analytics row have no conversion outcome and are left out.
-- Parameters: $since TIMESTAMPTZ, $until TIMESTAMPTZ (NULL = open): page loads counted
CREATE OR REPLACE TABLE exposure_session_routes AS
WITH timing AS (  -- does any page have a browser or analytics timing?
    SELECT coalesce(bool_or(load_source <> 'server'), false) AS client_timed FROM exposure_pages
),
p AS (  -- calls made outside the page load (exposure_side_deps) count as the page's
    SELECT page_key, session_id, route, server_ms, error_seen,
           list_concat(list_transform(p.deps, lambda x: {'peer': x.peer, 'calls': x.calls,
                                                          'ms': x.ms, 'failed': x.failed,
                                                          'side': false}),
                       coalesce(sd.deps, [])) AS deps,
           CASE WHEN load_source <> 'server' OR NOT (SELECT client_timed FROM timing)
                THEN load_ms END AS load_ms
    FROM exposure_pages AS p
    LEFT JOIN exposure_side_deps AS sd USING (page_key)
    WHERE session_id IN (SELECT session_id FROM sessions)
      AND ($since::TIMESTAMPTZ IS NULL OR started_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR started_at < $until::TIMESTAMPTZ)
),
per_dep AS (
    SELECT session_id, route, d.peer AS peer,
           max(d.failed::INT)::DOUBLE AS failed,
           max((d.failed AND (d.side OR NOT coalesce(error_seen, false)))::INT)::DOUBLE
               AS failed_served,
           max(d.ms) AS ms, arg_max(d.calls, d.ms)::DOUBLE AS calls
    FROM (SELECT session_id, route, error_seen, unnest(deps) AS d FROM p)
    GROUP BY ALL
),
dep_lists AS (
    SELECT session_id, route,
           list({'peer': peer, 'called': 1.0, 'failed': failed, 'failed_served': failed_served,
                 'calls': calls, 'ms': ms}) AS deps
    FROM per_dep
    GROUP BY ALL
)
SELECT r.session_id, r.route, r.views, r.log_load_max, r.server_ms_max, r.error_any,
       coalesce(d.deps, []) AS deps
FROM (
    SELECT session_id, route, count(*) AS views,
           max(ln(load_ms / 1000.0)) FILTER (WHERE load_ms > 0) AS log_load_max,
           max(server_ms) AS server_ms_max,
           bool_or(error_seen)::DOUBLE AS error_any
    FROM p
    GROUP BY ALL
) AS r
LEFT JOIN dep_lists AS d USING (session_id, route);
