-- drill_response: one survey response (by feedback id or source:feedback id) and the
-- delivered experience it was linked to.
-- Parameters: $response VARCHAR
SELECT r.response_key AS response, r.submitted_at, r.route, r.metric, r.score,
       r.is_poor AS poor, r.link, r.session_id AS session, r.device, r.country,
       round(r.load_ms) AS load_ms, r.error_seen > 0 AS error,
       -- a route-time link carries window rates, not this customer's calls: no list
       CASE WHEN r.link IN ('session', 'user') THEN list_transform(
           list_filter(r.deps, lambda d: d.failed > 0), lambda d: d.peer) END
           AS failed_dependencies,
       f.verbatim, f.page_url
FROM exposure_responses AS r
LEFT JOIN feedback AS f ON f.source = r.source AND f.feedback_id = r.feedback_id
WHERE r.response_key = $response OR r.feedback_id = $response
ORDER BY r.response_key;
