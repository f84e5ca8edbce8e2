-- exposure_delivery: what IT reads — the delivered experience per route and per dependency
-- over the whole window, the figures the verdict thresholds are checked against.
--   route rows       pages, sessions, load p50/p75/p95 (server-only times count only when
--                    nothing better exists), error rate (of pages with a known
--                    error state), dependency failure rate (pages where a dependency failed)
--   dependency rows  calls, failure rate, call ms p50/p75/p95, median ms of successful calls
--                    (the dependency's own normal), routes calling it — every peer of a
--                    CLIENT/PRODUCER span: calls outside page loads (exposure_side_links:
--                    beacons, async jobs) count too, with the route of the page they followed
--                    if any. A route's own figures count only the calls of its page loads.
-- Parameters: $since TIMESTAMPTZ, $until TIMESTAMPTZ (NULL = open)
CREATE OR REPLACE TABLE exposure_delivery AS
WITH timing AS (  -- does any page have a browser or analytics timing? (as in 020)
    SELECT coalesce(bool_or(load_source <> 'server'), false) AS client_timed FROM exposure_pages
),
p AS (
    SELECT page_key, session_id, route, service, error_seen, deps,
           CASE WHEN load_source <> 'server' OR NOT (SELECT client_timed FROM timing)
                THEN load_ms END AS load_ms
    FROM exposure_pages
    WHERE ($since::TIMESTAMPTZ IS NULL OR started_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR started_at < $until::TIMESTAMPTZ)
)
SELECT 'route' AS subject_kind, route AS subject,
       count(*) AS pages, count(DISTINCT session_id) AS sessions, NULL::BIGINT AS calls,
       quantile_cont(load_ms, 0.5) AS p50_ms, quantile_cont(load_ms, 0.75) AS p75_ms,
       quantile_cont(load_ms, 0.95) AS p95_ms,
       count(*) FILTER (WHERE error_seen) / nullif(count(error_seen), 0) AS error_rate,
       count(*) FILTER (WHERE array_length(list_filter(deps, lambda x: x.failed)) > 0)
           / count(*) AS dependency_failure_rate,
       NULL::DOUBLE AS ok_median_ms,
       list_sort(list_distinct(flatten(list(list_transform(deps, lambda x: x.peer))))) AS related,
       any_value(service) AS service
FROM p
GROUP BY route
UNION ALL
SELECT 'dependency', peer, count(DISTINCT page_key), count(DISTINCT session_id), sum(calls),
       quantile_cont(ms / calls, 0.5), quantile_cont(ms / calls, 0.75),
       quantile_cont(ms / calls, 0.95),
       NULL, count(*) FILTER (WHERE failed) / count(*),
       quantile_cont(ms / calls, 0.5) FILTER (WHERE NOT failed),
       -- the distinct routes as a DISTINCT aggregate: beside the two distinct counts, Spark
       -- would carry a plain list(route) through first() row by row (quadratic in calls)
       list_sort(list(DISTINCT route) FILTER (WHERE route IS NOT NULL)), NULL
FROM (SELECT page_key, session_id, route, d.peer AS peer, d.calls AS calls, d.ms AS ms,
             d.failed AS failed
      FROM (SELECT page_key, session_id, route, unnest(deps) AS d FROM p)
      UNION ALL  -- one "page" per trace: a beacon is one call of its own
      SELECT l.trace_id, coalesce(l.session_id, pg.session_id), pg.route, l.peer, l.calls, l.ms,
             l.failed
      FROM exposure_side_links AS l
      LEFT JOIN exposure_pages AS pg USING (page_key))
GROUP BY peer;
