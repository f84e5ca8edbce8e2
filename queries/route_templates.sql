-- route_templates: the route templates of this database — learned from spans that carry both
-- http.route and a concrete path, or declared in [routes] templates — with the spans that
-- taught each and the page views, survey responses and distinct URLs it absorbed; most used
-- first.
-- Parameters: $limit INTEGER (default 50)
WITH t AS (
    SELECT template, string_agg(source, '+' ORDER BY source) AS source, sum(spans) AS spans,
           max(written) AS written, max(example) AS example, max(last_seen) AS last_seen
    FROM route_templates
    GROUP BY template
),
landed AS (
    SELECT route, url AS raw, true AS is_view FROM page_views
    WHERE route IN (SELECT template FROM t)
    UNION ALL
    SELECT route, page_url, false FROM feedback
    WHERE route IN (SELECT template FROM t)
),
absorbed AS (
    SELECT route, count(*) FILTER (WHERE is_view) AS page_views,
           count(*) FILTER (WHERE NOT is_view) AS responses, count(DISTINCT raw) AS urls
    FROM landed
    GROUP BY route
)
SELECT t.template, t.source, t.spans AS taught_by_spans,
       coalesce(a.page_views, 0) AS page_views, coalesce(a.responses, 0) AS responses,
       coalesce(a.urls, 0) AS urls, t.written, t.example, t.last_seen
FROM t
LEFT JOIN absorbed AS a ON a.route = t.template
ORDER BY page_views + responses DESC, taught_by_spans DESC, t.template
LIMIT $limit;
