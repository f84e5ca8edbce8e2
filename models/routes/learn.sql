-- routes/learn: fold what spans taught (_route_seen, from teach_load.sql or teach_all.sql)
-- into route_templates. _route_forms (raw http.route → canonical template and its RE2
-- pattern, computed in Python over the few distinct routes) says what each route teaches. The
-- concrete path is reduced as connectors/routes.py reduces paths (scheme, host, query and
-- fragment removed, slashes collapsed, no trailing slash, lower case) and teaches only when it
-- matches the template: a route reported beside a path it does not describe (a mount prefix,
-- a rewrite) teaches nothing. Counts add up across loads; the first written form and example
-- stay.
-- No parameters.
INSERT INTO route_templates (template, source, spans, written, example, first_seen, last_seen)
WITH seen AS (
    SELECT raw, spans, first_seen, last_seen,
           regexp_replace(split_part(split_part(regexp_replace(
               concrete, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*', ''), '#', 1), '?', 1),
               '/+', '/', 'g') AS path
    FROM _route_seen
),
paths AS (
    SELECT raw, spans, first_seen, last_seen,
           CASE WHEN path IN ('', '/') THEN '/' ELSE lower(rtrim(path, '/')) END AS path
    FROM seen
)
SELECT f.template, 'learned', sum(p.spans), min(p.raw), min(p.path), min(p.first_seen),
       max(p.last_seen)
FROM paths AS p
JOIN _route_forms AS f USING (raw)
WHERE regexp_full_match(p.path, f.regex)
GROUP BY f.template
ON CONFLICT (template, source) DO UPDATE SET
    spans = route_templates.spans + excluded.spans,
    written = coalesce(route_templates.written, excluded.written),
    example = coalesce(route_templates.example, excluded.example),
    first_seen = least(route_templates.first_seen, excluded.first_seen),
    last_seen = greatest(route_templates.last_seen, excluded.last_seen);
