-- error_timeline: the share of page loads answered with an error, and of page loads where a
-- dependency call failed, per route and time bucket.
-- Parameters: $bucket_minutes INTEGER (default 60), $route VARCHAR (default NULL: every route),
--             $since TIMESTAMPTZ (default NULL), $until TIMESTAMPTZ (default NULL)
SELECT time_bucket(to_minutes($bucket_minutes::BIGINT), started_at) AS bucket_start, route,
       count(*) AS pages,
       count(*) FILTER (WHERE error_seen) AS errors,
       count(*) FILTER (WHERE error_seen) / count(*) AS error_rate,
       count(*) FILTER (WHERE list_bool_or(list_transform(deps, lambda d: d.failed)))
           / count(*) AS dependency_failure_rate
FROM exposure_pages
WHERE route IS NOT NULL AND ($route::VARCHAR IS NULL OR route = $route::VARCHAR)
  AND ($since::TIMESTAMPTZ IS NULL OR started_at >= $since::TIMESTAMPTZ)
  AND ($until::TIMESTAMPTZ IS NULL OR started_at < $until::TIMESTAMPTZ)
GROUP BY ALL
ORDER BY bucket_start, route;
