-- routes/declare: make the declared templates ([routes] templates, canonical) the rows with
-- source 'config': ones no longer declared go, new ones come; learned rows are untouched.
-- Parameters: $templates VARCHAR[]
DELETE FROM route_templates
WHERE source = 'config' AND NOT list_contains($templates::VARCHAR[], template);

INSERT INTO route_templates (template, source, spans)
SELECT t, 'config', 0 FROM unnest($templates::VARCHAR[]) AS u(t)
ON CONFLICT (template, source) DO NOTHING;
