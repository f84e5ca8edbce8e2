-- pages_scope: which page loads (and calls outside page loads) an incremental refresh of
-- exposure_pages (exposure_side_calls) recomputes, and the temp views pages.sql and
-- side_calls.sql then read. Scope: every session and trace one of the pending loads
-- (temp table exposure_pending) touched — a session through its spans, page views, events or
-- session row; a trace through its spans — and every trace of a touched session (a server
-- trace may be adopted by a browser trace that arrives in a later load).
-- The sessions come first: parallax.exposure runs that statement alone, and rebuilds the model
-- whole instead (running none of the rest) when those sessions hold most stored page loads.
-- No parameters.
CREATE OR REPLACE TEMP TABLE exposure_scope_sessions AS
SELECT DISTINCT session_id
FROM (
    SELECT session_id FROM spans WHERE load_id IN (SELECT load_id FROM exposure_pending)
    UNION ALL
    SELECT session_id FROM page_views WHERE load_id IN (SELECT load_id FROM exposure_pending)
    UNION ALL
    SELECT session_id FROM events WHERE load_id IN (SELECT load_id FROM exposure_pending)
    UNION ALL
    SELECT session_id FROM sessions WHERE load_id IN (SELECT load_id FROM exposure_pending)
)
WHERE session_id IS NOT NULL;

CREATE OR REPLACE TEMP TABLE exposure_scope_traces AS
SELECT trace_id FROM spans WHERE load_id IN (SELECT load_id FROM exposure_pending)
UNION
SELECT trace_id FROM spans
WHERE session_id IN (SELECT session_id FROM exposure_scope_sessions)
UNION
SELECT trace_id FROM page_views
WHERE trace_id IS NOT NULL
  AND session_id IN (SELECT session_id FROM exposure_scope_sessions);

CREATE OR REPLACE TEMP VIEW exposure_spans AS
SELECT * FROM spans WHERE trace_id IN (SELECT trace_id FROM exposure_scope_traces);

CREATE OR REPLACE TEMP VIEW exposure_page_views AS
SELECT * FROM page_views
WHERE session_id IN (SELECT session_id FROM exposure_scope_sessions)
   OR trace_id IN (SELECT trace_id FROM exposure_scope_traces);

DELETE FROM exposure_pages
WHERE trace_id IN (SELECT trace_id FROM exposure_scope_traces)
   OR session_id IN (SELECT session_id FROM exposure_scope_sessions);

DELETE FROM exposure_side_calls
WHERE trace_id IN (SELECT trace_id FROM exposure_scope_traces);
