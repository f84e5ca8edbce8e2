-- exposure/coverage: how the window's responses were linked (exposure_responses.link) and how
-- many of them, and of the window's page views, landed on a route template (learned or
-- declared, route_templates) rather than a heuristic route. One row per (unit, link); page
-- views have link NULL. Read by parallax.exposure.link_coverage after the window's models.
-- Parameters: $since TIMESTAMPTZ, $until TIMESTAMPTZ (NULL = open)
WITH t AS (SELECT DISTINCT template FROM route_templates)
SELECT 'response' AS unit, link, count(*) AS n,
       count(*) FILTER (WHERE route IN (SELECT template FROM t)) AS on_template
FROM exposure_responses
GROUP BY link
UNION ALL
SELECT 'page_view', NULL, count(*),
       count(*) FILTER (WHERE route IN (SELECT template FROM t))
FROM page_views
WHERE ($since::TIMESTAMPTZ IS NULL OR viewed_at >= $since::TIMESTAMPTZ)
  AND ($until::TIMESTAMPTZ IS NULL OR viewed_at < $until::TIMESTAMPTZ);
