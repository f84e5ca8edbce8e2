-- exposure_sessions: one row per analytics session with its outcome (converted, revenue),
-- controls (device, country, segment), how many pages it saw, and the cluster key (the user
-- when known) for robust standard errors.
-- Parameters: $since TIMESTAMPTZ, $until TIMESTAMPTZ (NULL = open)
CREATE OR REPLACE TABLE exposure_sessions AS
SELECT s.session_id, s.user_id, s.started_at, s.device, s.country, s.segment, s.converted,
       s.revenue, coalesce(r.pages, 0) AS pages, coalesce(r.routes, 0) AS routes,
       coalesce(s.user_id, s.session_id) AS cluster_key
FROM sessions AS s
LEFT JOIN (SELECT session_id, sum(views) AS pages, count(*) AS routes
           FROM exposure_session_routes GROUP BY session_id) AS r USING (session_id)
WHERE ($since::TIMESTAMPTZ IS NULL OR s.started_at >= $since::TIMESTAMPTZ)
  AND ($until::TIMESTAMPTZ IS NULL OR s.started_at < $until::TIMESTAMPTZ);
