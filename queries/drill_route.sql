-- drill_route: the responses behind a route's finding (poor first, newest first): score,
-- how the response was linked to a delivered experience, that page's load time, error and
-- failed dependencies, and the verbatim.
-- Parameters: $route VARCHAR, $limit INTEGER (default 50)
SELECT r.response_key AS response, r.submitted_at, r.metric, r.score, r.is_poor AS poor,
       r.link, r.session_id AS session, round(r.load_ms) AS load_ms,
       r.error_seen > 0 AS error,
       -- a route-time link carries window rates, not this customer's calls: no list
       CASE WHEN r.link IN ('session', 'user') THEN list_transform(
           list_filter(r.deps, lambda d: d.failed > 0), lambda d: d.peer) END
           AS failed_dependencies,
       f.verbatim
FROM exposure_responses AS r
LEFT JOIN feedback AS f ON f.source = r.source AND f.feedback_id = r.feedback_id
WHERE r.route = $route
ORDER BY r.is_poor DESC, r.submitted_at DESC, r.response_key
LIMIT $limit;
