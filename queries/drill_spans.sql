-- drill_spans: the spans of one session's traces as a waterfall: offset from the session's
-- first span, duration, service, operation, kind, status and the dependency it called.
-- Traces count when they carry the session id or were adopted by one of its page loads.
-- Parameters: $session VARCHAR, $limit INTEGER (default 500)
WITH traces AS (
    SELECT DISTINCT trace_id FROM spans WHERE session_id = $session
    UNION
    SELECT trace_id FROM exposure_pages WHERE session_id = $session AND trace_id IS NOT NULL
), s AS (
    SELECT sp.* FROM spans AS sp SEMI JOIN traces USING (trace_id)
)
SELECT trace_id, span_id, parent_span_id, started_at,
       round(epoch_ms(started_at) - epoch_ms(min(started_at) OVER ()), 1) AS offset_ms,
       round(duration_ms, 1) AS duration_ms, service, name, kind, route, peer,
       is_error AS error, status_code
FROM s
ORDER BY started_at, trace_id, span_id
LIMIT $limit;
