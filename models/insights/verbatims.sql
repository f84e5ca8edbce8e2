-- insights/verbatims: every non-empty verbatim of a scored response, with what its linked page
-- delivered (parallax.insights.verbatims reads it; docs/verbatims.md). Needs the exposure
-- models of the window (exposure_responses). Only session and user links name one page;
-- route-and-time and unlinked responses get delivery 'unknown'.
--   delivery  fine: load below $good_load_ms, no error page, no failed dependency call
--             bad:  slower, or an error page, or a dependency call failed
-- Parameters: $good_load_ms DOUBLE, $route VARCHAR (NULL = every route)
SELECT r.response_key, coalesce(r.route, '(unknown)') AS route, r.submitted_at, r.metric,
       r.score, r.is_poor, trim(fb.verbatim) AS verbatim, r.link, r.load_ms, r.error_seen,
       list_sort(list_transform(list_filter(r.deps, lambda x: x.failed > 0),
                                lambda x: x.peer)) AS failed_deps,
       CASE WHEN r.link NOT IN ('session', 'user') OR r.load_ms IS NULL THEN 'unknown'
            WHEN r.load_ms < $good_load_ms AND NOT coalesce(r.error_seen > 0, false)
                 AND len(list_filter(r.deps, lambda x: x.failed > 0)) = 0 THEN 'fine'
            ELSE 'bad' END AS delivery
FROM exposure_responses AS r
JOIN feedback AS fb ON fb.source = r.source AND fb.feedback_id = r.feedback_id
WHERE nullif(trim(fb.verbatim), '') IS NOT NULL
  AND ($route::VARCHAR IS NULL OR r.route = $route::VARCHAR)
ORDER BY route, r.submitted_at, r.response_key;
