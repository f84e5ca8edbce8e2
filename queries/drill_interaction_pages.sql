-- drill_interaction_pages: the page loads the same customer (user_id) made in the window
-- before one interaction, newest first: route, load time, slow / failed, failed dependencies
-- and the session — what `parallax contacts drivers` links the contact to.
-- Parameters: $interaction VARCHAR, $window_s DOUBLE (default 86400), $good_ms DOUBLE (default 2500), $limit INTEGER (default 50)
WITH c AS (
    SELECT user_id, started_at
    FROM interactions
    WHERE (interaction_id = $interaction OR source || ':' || interaction_id = $interaction)
      AND user_id IS NOT NULL
    ORDER BY source
    LIMIT 1
)
SELECT p.started_at, p.session_id AS session, p.route, round(p.load_ms) AS load_ms,
       p.load_ms > $good_ms AS slow, p.error_seen AS error,
       list_transform(list_filter(p.deps, lambda d: d.failed), lambda d: d.peer)
           AS failed_dependencies,
       round(epoch(c.started_at) - epoch(p.started_at)) AS seconds_before_contact,
       p.trace_id AS ref
FROM exposure_pages AS p, c
WHERE p.user_id = c.user_id AND p.started_at < c.started_at
  AND p.started_at >= c.started_at - to_microseconds(($window_s * 1e6)::BIGINT)
ORDER BY p.started_at DESC
LIMIT $limit;
