-- drill_dependency: page loads that called a dependency (failed ones first, then the
-- slowest): route, session, calls, time spent, whether the page still came back, and the
-- response linked to that very page load, if any.
-- Parameters: $dependency VARCHAR, $limit INTEGER (default 50)
WITH calls AS (
    SELECT p.page_key, p.started_at, p.route, p.session_id, p.load_ms, p.error_seen,
           unnest(list_filter(p.deps, lambda d: d.peer = $dependency)) AS d
    FROM exposure_pages AS p
    WHERE list_contains(list_transform(p.deps, lambda d: d.peer), $dependency)
)
SELECT c.started_at, c.route, c.session_id AS session, c.d.calls::BIGINT AS calls,
       round(c.d.ms) AS dependency_ms, c.d.failed AS failed, round(c.load_ms) AS load_ms,
       c.error_seen AS error_page, r.response_key AS response, r.score, r.is_poor AS poor
FROM calls AS c
LEFT JOIN exposure_responses AS r ON r.page_key = c.page_key AND r.link IN ('session', 'user')
ORDER BY c.d.failed DESC, c.d.ms DESC, c.started_at
LIMIT $limit;
