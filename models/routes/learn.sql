-- routes/learn: fold what spans taught (_route_seen, from teach_load.sql or teach_all.sql)
-- into route_templates. _route_matches holds each distinct (raw http.route, concrete path) whose
-- path matches the template the route teaches (connectors/route_learning.py: the templates of
-- the few distinct routes, matched in Python; DuckDB compiled a regular expression taken from a
-- column once for every row). The concrete path is reduced as connectors/routes.py reduces
-- paths (scheme, host, query and fragment removed, slashes collapsed, no trailing slash, lower
-- case; seen_paths.sql) and teaches only when it matches the template: a route reported beside a
-- path it does not describe (a mount prefix, a rewrite) teaches nothing. Counts add up across
-- loads; the first written form and example stay.
-- No parameters.
INSERT INTO route_templates (template, source, spans, written, example, first_seen, last_seen)
SELECT m.template, 'learned', sum(s.spans), min(s.raw), min(s.path), min(s.first_seen),
       max(s.last_seen)
FROM _route_seen AS s
JOIN _route_matches AS m USING (raw, path)
GROUP BY m.template
ON CONFLICT (template, source) DO UPDATE SET
    spans = route_templates.spans + excluded.spans,
    written = coalesce(route_templates.written, excluded.written),
    example = coalesce(route_templates.example, excluded.example),
    first_seen = least(route_templates.first_seen, excluded.first_seen),
    last_seen = greatest(route_templates.last_seen, excluded.last_seen);
