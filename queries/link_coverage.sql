-- link_coverage: per route, how the responses of the latest correlate run were linked to what
-- they got: their own session, the same user, the route's time window, or not at all — and
-- whether the route is a route template (learned from spans or declared) or a heuristic one,
-- with the page views on it in the run's window. The first row, '(all routes)', holds the
-- totals: template_responses_pct and template_page_views_pct are the shares of responses and
-- of page views that landed on a template route.
-- No parameters.
WITH t AS (SELECT DISTINCT template FROM route_templates),
run AS (SELECT since, until FROM correlate_runs ORDER BY created_at DESC LIMIT 1),
views AS (
    SELECT route, count(*) AS page_views
    FROM page_views
    WHERE viewed_at >= coalesce((SELECT since FROM run), '-infinity'::TIMESTAMPTZ)
      AND viewed_at < coalesce((SELECT until FROM run), 'infinity'::TIMESTAMPTZ)
    GROUP BY route
),
responses AS (
    SELECT route, link, route IN (SELECT template FROM t) AS on_template
    FROM exposure_responses
),
per_route AS (
    SELECT 1 AS part, coalesce(r.route, '(no route)') AS route, count(*) AS responses,
           round(avg((link = 'session')::INT) * 100, 1) AS session_pct,
           round(avg((link = 'user')::INT) * 100, 1) AS user_pct,
           round(avg((link = 'route_time')::INT) * 100, 1) AS route_time_pct,
           round(avg((link = 'none')::INT) * 100, 1) AS none_pct,
           any_value(coalesce(v.page_views, 0)) AS page_views,
           round(avg(coalesce(on_template, false)::INT) * 100, 1) AS template_responses_pct,
           CASE WHEN any_value(v.page_views) > 0
                THEN round(avg(coalesce(on_template, false)::INT) * 100, 1) END
               AS template_page_views_pct
    FROM responses AS r
    LEFT JOIN views AS v ON v.route = r.route
    GROUP BY ALL
),
total AS (
    SELECT 0 AS part, '(all routes)' AS route, count(*) AS responses,
           round(avg((link = 'session')::INT) * 100, 1) AS session_pct,
           round(avg((link = 'user')::INT) * 100, 1) AS user_pct,
           round(avg((link = 'route_time')::INT) * 100, 1) AS route_time_pct,
           round(avg((link = 'none')::INT) * 100, 1) AS none_pct,
           (SELECT coalesce(sum(page_views), 0) FROM views) AS page_views,
           round(avg(coalesce(on_template, false)::INT) * 100, 1) AS template_responses_pct,
           (SELECT round(sum(page_views) FILTER (WHERE route IN (SELECT template FROM t))
                         * 100.0 / nullif(sum(page_views), 0), 1) FROM views)
               AS template_page_views_pct
    FROM responses
)
SELECT * EXCLUDE (part)
FROM (SELECT * FROM total UNION ALL BY NAME SELECT * FROM per_route)
ORDER BY part, responses DESC, route;
