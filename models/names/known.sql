-- The names a user may type for one kind of subject, to check an argument before the work
-- starts and suggest the nearest when it is mistyped.
-- Parameters: $kind VARCHAR (route | service | dependency | annotation)
SELECT name FROM (
    SELECT 'route' AS kind, route AS name FROM exposure_pages GROUP BY route
    UNION ALL SELECT 'route', route FROM feedback GROUP BY route
    UNION ALL SELECT 'service', service FROM spans GROUP BY service
    UNION ALL SELECT 'dependency', peer FROM spans GROUP BY peer
    UNION ALL SELECT 'annotation', id FROM annotations
)
WHERE kind = $kind AND name IS NOT NULL
GROUP BY name
ORDER BY name
