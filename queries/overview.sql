-- overview: what the database holds, per canonical table, and how well the silos meet.
-- One row per measure: (area, measure, value). No parameters.
SELECT 'spans' AS area, 'rows' AS measure, count(*)::VARCHAR AS value FROM spans
UNION ALL SELECT 'spans', 'traces', count(DISTINCT trace_id)::VARCHAR FROM spans
UNION ALL SELECT 'spans', 'services', count(DISTINCT service)::VARCHAR FROM spans
UNION ALL SELECT 'spans', 'error rate', coalesce(round(avg(is_error::INT) * 100, 1)::VARCHAR || ' %', '–') FROM spans
UNION ALL SELECT 'feedback', 'responses', count(*)::VARCHAR FROM feedback
UNION ALL SELECT 'feedback', 'poor share', coalesce(round(avg(is_poor::INT) * 100, 1)::VARCHAR || ' %', '–') FROM feedback
UNION ALL SELECT 'sessions', 'rows', count(*)::VARCHAR FROM sessions
UNION ALL SELECT 'page_views', 'rows', count(*)::VARCHAR FROM page_views
UNION ALL SELECT 'events', 'rows', count(*)::VARCHAR FROM events
UNION ALL
SELECT 'links', 'responses with a session seen in analytics',
       coalesce(round(avg((s.session_id IS NOT NULL)::INT) * 100, 1)::VARCHAR || ' %', '–')
FROM feedback AS f LEFT JOIN sessions AS s USING (session_id)
UNION ALL
SELECT 'links', 'sessions with traces',
       coalesce(round(avg((t.session_id IS NOT NULL)::INT) * 100, 1)::VARCHAR || ' %', '–')
FROM sessions AS s
LEFT JOIN (SELECT DISTINCT session_id FROM spans WHERE session_id IS NOT NULL) AS t USING (session_id)
UNION ALL
SELECT 'links', 'page-view routes also seen in spans',
       count(DISTINCT p.route)::VARCHAR || ' of ' || (SELECT count(DISTINCT route) FROM page_views)::VARCHAR
FROM page_views AS p
WHERE p.route IN (SELECT route FROM spans WHERE route IS NOT NULL)
UNION ALL
SELECT 'links', 'page views on a route template',
       coalesce(round(avg((coalesce(route IN (SELECT template FROM route_templates), false))::INT) * 100, 1)::VARCHAR || ' %', '–')
FROM page_views
UNION ALL
SELECT 'links', 'responses on a route template',
       coalesce(round(avg((coalesce(route IN (SELECT template FROM route_templates), false))::INT) * 100, 1)::VARCHAR || ' %', '–')
FROM feedback
UNION ALL
SELECT 'routes', 'templates (learned, declared)',
       count(DISTINCT template) FILTER (WHERE source = 'learned')::VARCHAR || ', '
       || count(DISTINCT template) FILTER (WHERE source = 'config')::VARCHAR
FROM route_templates;
