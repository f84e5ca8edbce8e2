-- route_unmatched: page URLs no route template matched — page views, survey responses and
-- server or page-load spans whose route fell back to the id heuristic or a [routes] rule —
-- grouped by the route they fell back to, with counts per table and an example; most
-- frequent first. Declare a template ([routes] templates) or instrument http.route to move
-- them onto one.
-- Parameters: $limit INTEGER (default 50), $page_spans VARCHAR (default documentLoad: the
-- names of browser page-load spans, comma-separated)
WITH t AS (SELECT DISTINCT template FROM route_templates),
fell AS (
    SELECT 'page_views' AS tbl, route, url AS raw FROM page_views
    WHERE route IS NOT NULL AND route NOT IN (SELECT template FROM t)
    UNION ALL
    SELECT 'feedback', route, page_url FROM feedback
    WHERE route IS NOT NULL AND route NOT IN (SELECT template FROM t)
    UNION ALL
    SELECT 'spans', route, http_route FROM spans
    WHERE route IS NOT NULL AND route NOT IN (SELECT template FROM t)
      AND (kind = 'server' OR list_contains(string_split($page_spans, ','), name))
)
SELECT route, count(*) FILTER (WHERE tbl = 'page_views') AS page_views,
       count(*) FILTER (WHERE tbl = 'feedback') AS responses,
       count(*) FILTER (WHERE tbl = 'spans') AS spans,
       count(DISTINCT raw) AS urls, min(raw) AS example
FROM fell
GROUP BY route
ORDER BY count(*) DESC, route
LIMIT $limit;
