-- drill_session: one session's timeline — every page load (with its load time, error and
-- dependency calls) and every survey answer, in time order.
-- Parameters: $session VARCHAR
SELECT started_at AS happened_at, 'page' AS what, route, round(load_ms) AS load_ms, load_source,
       error_seen AS error,
       array_to_string(list_transform(deps, lambda d: d.peer || ' ×' || d.calls::BIGINT || ' '
           || round(d.ms)::BIGINT || ' ms' || CASE WHEN d.failed THEN ' FAILED' ELSE '' END),
           '; ') AS detail,
       trace_id AS ref
FROM exposure_pages
WHERE session_id = $session
UNION ALL
SELECT submitted_at, 'feedback', route, NULL, NULL, NULL,
       metric || ' ' || score::VARCHAR || CASE WHEN is_poor THEN ' (poor)' ELSE '' END
           || coalesce(': ' || verbatim, ''),
       source || ':' || feedback_id
FROM feedback
WHERE session_id = $session
ORDER BY happened_at, what DESC;
