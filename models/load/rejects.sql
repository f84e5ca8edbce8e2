-- load/rejects: keep this load's rejected records (registered as _parallax_rejects), except
-- those already recorded by an earlier successful load of the same file content: re-loading
-- the same file changes nothing. Params: $sha256.
INSERT INTO rejects BY NAME
SELECT r.*
FROM _parallax_rejects AS r
WHERE NOT EXISTS (
    SELECT 1
    FROM rejects AS o
    JOIN loads AS l USING (load_id)
    WHERE l.sha256 = $sha256 AND l.status = 'ok'
      AND o.location = r.location AND o.reason = r.reason
);
