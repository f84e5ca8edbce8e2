-- routes/values: each distinct (table, raw value, stored route) the route normalisation
-- derived a route from: spans.http_route, page_views.url, feedback.page_url, events.url.
-- connectors/route_learning.py maps each raw value once in Python (thousands of values, not
-- millions of rows) and writes back the changed ones with routes/apply.sql.
-- No parameters.
SELECT 'spans' AS tbl, http_route AS raw, route
FROM spans WHERE http_route IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'page_views', url, route
FROM page_views WHERE url IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'feedback', page_url, route
FROM feedback WHERE page_url IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'events', url, route
FROM events WHERE url IS NOT NULL GROUP BY ALL;
