-- rejects: records kept out of the canonical tables, with the reason.
-- Parameters: $limit INTEGER (default 50)
SELECT r.load_id, r.file, r.location, r.reason, left(r.raw, 120) AS raw
FROM rejects AS r
JOIN loads AS l USING (load_id)
ORDER BY l.started_at DESC, r.location
LIMIT $limit;
