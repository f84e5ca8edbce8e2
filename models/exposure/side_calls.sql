-- exposure_side_calls: dependency calls made outside any page load — one row per trace and
-- dependency for traces holding CLIENT/PRODUCER calls but neither a SERVER span nor a browser
-- page-load span ($page_spans): the browser's beacons sent after a page loaded, async jobs a
-- purchase started. They carry the session or user they belong to (session.id, enduser.id),
-- not a page; 010_side_links.sql attaches them to the page load they followed.
-- Kind: incremental, like pages.sql: parallax.exposure.refresh_pages runs it over the temp view
-- exposure_spans (all spans, or the traces a refresh recomputes).
-- Parameters: $page_spans VARCHAR[]
WITH side AS (
    SELECT trace_id, kind, started_at, duration_ms, is_error, peer, session_id, user_id
    FROM exposure_spans AS sp
    WHERE trace_id IN (SELECT trace_id FROM exposure_spans
                       WHERE kind IN ('client', 'producer') AND peer IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM exposure_spans AS pl  -- an anti join, not a broadcast
                      WHERE pl.trace_id = sp.trace_id
                        AND (pl.kind = 'server' OR list_contains($page_spans, pl.name)))
),
t AS (
    SELECT trace_id, min(started_at) AS started_at, any_value(session_id) AS session_id,
           any_value(user_id) AS user_id
    FROM side
    GROUP BY trace_id
)
SELECT c.trace_id, c.peer, t.started_at, t.session_id, t.user_id,
       count(*) AS calls, sum(c.duration_ms) AS ms, bool_or(c.is_error) AS failed
FROM side AS c
JOIN t USING (trace_id)
WHERE c.kind IN ('client', 'producer') AND c.peer IS NOT NULL
GROUP BY c.trace_id, c.peer, t.started_at, t.session_id, t.user_id
