-- exposure_session_routes: per analytics session and route visited, the worst it got there —
-- what the conversion model reads. A session's exposure is the max over its routes, so a
-- counterfactual "this route delivered well" only has to replace one row.
--   log_load_max   ln(seconds) of the slowest page load on the route (a server-only time
--                  counts only when no page has a browser or analytics timing, as in 020)
--   server_ms_max  the slowest backend (SERVER span) time behind those pages
--   error_any      any page on the route came back with an error (NULL: unknown)
--   deps           per dependency: failed / failed_served (0/1 for the route visit) and the
--                  page with the most call time: its ms and number of calls (of tied pages,
--                  the most calls)
-- Sessions without an analytics row have no conversion outcome and are left out.
-- Parameters: $since TIMESTAMPTZ, $until TIMESTAMPTZ (NULL = open): page loads counted
CREATE OR REPLACE TABLE exposure_session_routes AS
WITH timing AS (  -- does any page have a browser or analytics timing?
    SELECT coalesce(bool_or(load_source <> 'server'), false) AS client_timed FROM exposure_pages
),
pages AS (  -- the window's page loads of sessions with an analytics row
    SELECT * FROM exposure_pages
    WHERE session_id IN (SELECT session_id FROM sessions)
      AND ($since::TIMESTAMPTZ IS NULL OR started_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR started_at < $until::TIMESTAMPTZ)
),
calls AS (  -- each page's calls, then the calls outside page loads attached to it
    -- (exposure_side_deps: always served), unnested as they are: rebuilding every page's list
    -- of calls to append the few outside ones cost more than the rest of this model
    SELECT session_id, route, error_seen, d.peer AS peer, d.calls AS calls, d.ms AS ms,
           d.failed AS failed, false AS side
    FROM (SELECT session_id, route, error_seen, unnest(deps) AS d FROM pages)
    UNION ALL
    SELECT session_id, route, error_seen, d.peer, d.calls, d.ms, d.failed, d.side
    FROM (SELECT p.session_id, p.route, p.error_seen, unnest(sd.deps) AS d
          FROM pages AS p JOIN exposure_side_deps AS sd USING (page_key))
),
per_dep AS (
    SELECT session_id, route, peer,
           max(failed::INT)::DOUBLE AS failed,
           max((failed AND (side OR NOT coalesce(error_seen, false)))::INT)::DOUBLE
               AS failed_served,
           -- pages tied on call time: the one with more calls, so a rerun gives the same
           max(ms) AS ms, arg_max(calls, {'ms': ms, 'calls': calls})::DOUBLE AS calls
    FROM calls
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
    FROM (SELECT session_id, route, server_ms, error_seen,
                 CASE WHEN load_source <> 'server' OR NOT (SELECT client_timed FROM timing)
                      THEN load_ms END AS load_ms
          FROM pages)
    GROUP BY ALL
) AS r
LEFT JOIN dep_lists AS d USING (session_id, route);
