-- incident_delivery: the delivered side of the affected $routes before ([$from, $starts)) and
-- during ([$starts, $ends)) an incident: per route, and per dependency those pages called.
--   route rows       pages, error rate (of pages with a known error state), p95 page load,
--                    share of pages on which any dependency failed
--   dependency rows  pages calling it, its failure rate on them, p95 of its call time
-- Parameters: $routes VARCHAR[], $from TIMESTAMPTZ, $starts TIMESTAMPTZ, $ends TIMESTAMPTZ
WITH p AS (
    SELECT CASE WHEN started_at < $starts::TIMESTAMPTZ THEN 'before' ELSE 'during' END
               AS period, route, load_ms, error_seen, deps
    FROM exposure_pages
    WHERE list_contains($routes, route)
      AND started_at >= $from::TIMESTAMPTZ AND started_at < $ends::TIMESTAMPTZ
)
SELECT 'route' AS kind, route AS subject, period, count(*) AS pages,
       count(*) FILTER (WHERE error_seen) / nullif(count(error_seen), 0) AS error_rate,
       quantile_cont(load_ms, 0.95) AS p95_ms,
       count(*) FILTER (WHERE list_bool_or(list_transform(deps, lambda x: x.failed)))
           / count(*) AS failure_rate
FROM p
GROUP BY ALL
UNION ALL
SELECT 'dependency', d.peer, period, count(*), NULL,
       quantile_cont(d.ms / d.calls, 0.95), count(*) FILTER (WHERE d.failed) / count(*)
FROM (SELECT period, unnest(deps) AS d FROM p)
GROUP BY ALL
ORDER BY kind DESC, subject, period;
