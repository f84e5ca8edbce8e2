-- exposure_side_links: each call made outside a page load (exposure_side_calls) in the window,
-- attached to the page load it followed — the latest page load of its session at or before
-- it (linked_by 'session'), else of its user within $window_minutes before it ('user'), else
-- none (page_key NULL: it still counts for its dependency's delivered figures).
-- "The latest page load at or before" is a join on the key and the time order, then the latest
-- per call (arg_max, ties broken by page_key): portable SQL that Spark runs too (no ASOF join),
-- and session-local, so it stays cheap wherever it runs. "Not already linked" is NOT EXISTS, an
-- anti join Spark hashes on the key (NOT IN would broadcast the whole subquery to every task).
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
    SELECT c.call_key, arg_max(p.page_key, {'at': p.started_at, 'key': p.page_key}) AS page_key
    FROM c JOIN exposure_pages AS p
      ON p.session_id = c.session_id AND p.started_at <= c.started_at
    WHERE $use_session
    GROUP BY c.call_key
),
by_user AS (
    SELECT c.call_key, arg_max(p.page_key, {'at': p.started_at, 'key': p.page_key}) AS page_key
    FROM c JOIN exposure_pages AS p
      ON p.user_id = c.user_id AND p.started_at <= c.started_at
     AND p.started_at >= c.started_at - $window_minutes * INTERVAL 1 MINUTE
    WHERE $use_user
      AND NOT EXISTS (SELECT 1 FROM by_session AS s WHERE s.call_key = c.call_key)
    GROUP BY c.call_key
)
SELECT c.trace_id, c.peer, c.started_at, c.session_id, c.user_id, c.calls, c.ms, c.failed,
       coalesce(s.page_key, u.page_key) AS page_key,
       CASE WHEN s.page_key IS NOT NULL THEN 'session'
            WHEN u.page_key IS NOT NULL THEN 'user' ELSE 'none' END AS linked_by
FROM c
LEFT JOIN by_session AS s USING (call_key)
LEFT JOIN by_user AS u USING (call_key);
