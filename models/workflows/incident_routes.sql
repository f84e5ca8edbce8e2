-- incident_routes: the routes an incident touched — pages in its window on $route, served by
-- $service, or calling $dependency (any of them may be NULL; NULL ones do not select).
-- Parameters: $route VARCHAR, $service VARCHAR, $dependency VARCHAR,
--             $starts TIMESTAMPTZ, $ends TIMESTAMPTZ
SELECT route, count(*) AS pages
FROM exposure_pages
WHERE started_at >= $starts::TIMESTAMPTZ AND started_at < $ends::TIMESTAMPTZ
  AND (route = $route::VARCHAR
       OR service = $service::VARCHAR
       OR list_contains(list_transform(deps, lambda x: x.peer), $dependency::VARCHAR))
GROUP BY route
ORDER BY pages DESC, route;
