-- apdex: Apdex per route for page load time with target T: (satisfied + tolerating / 2) /
-- loads, where satisfied is at most T, tolerating at most 4 T, and an error page counts as
-- frustrated.
-- Parameters: $t_ms DOUBLE (default 2500), $since TIMESTAMPTZ (default NULL),
--             $until TIMESTAMPTZ (default NULL)
SELECT route, count(*) AS pages,
       count(*) FILTER (WHERE NOT coalesce(error_seen, false) AND load_ms <= $t_ms) AS satisfied,
       count(*) FILTER (WHERE NOT coalesce(error_seen, false) AND load_ms > $t_ms
                        AND load_ms <= 4 * $t_ms) AS tolerating,
       (satisfied + tolerating / 2) / count(*) AS apdex
FROM exposure_pages
WHERE route IS NOT NULL AND load_ms IS NOT NULL
  AND ($since::TIMESTAMPTZ IS NULL OR started_at >= $since::TIMESTAMPTZ)
  AND ($until::TIMESTAMPTZ IS NULL OR started_at < $until::TIMESTAMPTZ)
GROUP BY route
ORDER BY apdex, route;
