-- incident_path: the conversion path of the sessions on the affected $routes, for deciding
-- which other incidents bear on their conversions: the affected routes, the routes at least
-- $share of those sessions that converted visited before the incident ([$from, $starts)) —
-- the steps to the conversion, /cart and /checkout in a shop — and the dependencies pages on
-- those routes called. An incident anywhere on that path changes whether they convert.
-- Parameters: $routes VARCHAR[], $from TIMESTAMPTZ, $starts TIMESTAMPTZ, $share DOUBLE
WITH p AS (
    SELECT session_id, route, deps
    FROM exposure_pages
    WHERE started_at >= $from::TIMESTAMPTZ AND started_at < $starts::TIMESTAMPTZ
      AND session_id IS NOT NULL
),
buyers AS (
    SELECT DISTINCT p.session_id
    FROM p JOIN sessions AS ses USING (session_id)
    WHERE ses.converted AND list_contains($routes, p.route)
),
path AS (
    SELECT p.route
    FROM p JOIN buyers USING (session_id)
    GROUP BY p.route
    HAVING count(DISTINCT p.session_id) >= $share * (SELECT count(*) FROM buyers)
    UNION
    SELECT unnest($routes::VARCHAR[])
)
SELECT 'route' AS kind, route AS subject FROM path
UNION
SELECT DISTINCT 'dependency', d.peer
FROM (SELECT unnest(deps) AS d FROM p WHERE route IN (SELECT route FROM path))
ORDER BY kind, subject;
