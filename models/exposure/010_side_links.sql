-- exposure_side_links: each call made outside a page load (exposure_side_calls) in the window,
-- attached to the page load it followed — the latest page load of its session at or before
-- it (linked_by 'session'), else of its user within $window_minutes before it ('user'), else
-- none (page_key NULL: it still counts for its dependency's delivered figures).
-- Parameters: $use_session BOOLEAN, $use_user BOOLEAN, $window_minutes INTEGER,
--             $since TIMESTAMPTZ, $until TIMESTAMPTZ (NULL = open)
CREATE OR REPLACE TABLE exposure_side_links AS
WITH c AS (
    SELECT trace_id || ':' || peer AS call_key, *
    FROM exposure_side_calls
    WHERE ($since::TIMESTAMPTZ IS NULL OR started_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR started_at < $until::TIMESTAMPTZ)
),
by_session AS (
    SELECT c.call_key, p.page_key
    FROM c ASOF JOIN exposure_pages AS p
      ON p.session_id = c.session_id AND c.started_at >= p.started_at
    WHERE $use_session
),
by_user AS (
    SELECT c.call_key, p.page_key
    FROM c ASOF JOIN exposure_pages AS p
      ON p.user_id = c.user_id AND c.started_at >= p.started_at
    WHERE $use_user
      AND p.started_at >= c.started_at - to_minutes($window_minutes::BIGINT)
      AND c.call_key NOT IN (SELECT call_key FROM by_session)
)
SELECT c.trace_id, c.peer, c.started_at, c.session_id, c.user_id, c.calls, c.ms, c.failed,
       coalesce(s.page_key, u.page_key) AS page_key,
       CASE WHEN s.page_key IS NOT NULL THEN 'session'
            WHEN u.page_key IS NOT NULL THEN 'user' ELSE 'none' END AS linked_by
FROM c
LEFT JOIN by_session AS s USING (call_key)
LEFT JOIN by_user AS u USING (call_key);
