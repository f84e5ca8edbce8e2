-- drill_spans: the spans of one session's traces as a waterfall: offset from the session's
-- first span, duration, service, operation, kind, status and the dependency it called.
-- Traces count when they carry the session id or were adopted by one of its page loads.
-- Several sessions at once: separate their ids with commas (one scan of the spans).
-- Parameters: $session VARCHAR, $limit INTEGER (default 500: spans per session)
WITH wanted AS (
    SELECT DISTINCT trim(unnest(string_split($session, ','))) AS session
), traces AS (
    SELECT DISTINCT s.session_id AS session, s.trace_id
    FROM spans AS s SEMI JOIN wanted AS w ON s.session_id = w.session
    UNION
    SELECT p.session_id, p.trace_id
    FROM exposure_pages AS p SEMI JOIN wanted AS w ON p.session_id = w.session
    WHERE p.trace_id IS NOT NULL
), s AS (
    SELECT t.session, sp.* FROM spans AS sp JOIN traces AS t USING (trace_id)
)
SELECT session, trace_id, span_id, parent_span_id, started_at,
       round(epoch_ms(started_at)
             - epoch_ms(min(started_at) OVER (PARTITION BY session)), 1) AS offset_ms,
       round(duration_ms, 1) AS duration_ms, service, name, kind, route, peer,
       is_error AS error, status_code
FROM s
QUALIFY row_number() OVER (PARTITION BY session ORDER BY started_at, trace_id, span_id)
        <= $limit
ORDER BY session, started_at, trace_id, span_id;
