-- design_sessions: per analytics session of the join model's window, the moment that puts it
-- before or after a design change — its first page on the changed route, else its start (a
-- session that began at 23:58 and reached the new checkout at 00:05 saw the new design).
-- Parameters: $route VARCHAR
SELECT s.session_id,
       coalesce(min(p.started_at) FILTER (WHERE p.route = $route::VARCHAR), s.started_at) AS at
FROM exposure_sessions AS s
LEFT JOIN exposure_pages AS p USING (session_id)
GROUP BY s.session_id, s.started_at
ORDER BY s.session_id;
