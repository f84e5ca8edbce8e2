-- loads: the load ledger, newest first.
-- Parameters: $limit INTEGER (default 50)
SELECT load_id, kind, format, file, status, rows_read, rows_loaded, rows_duplicate,
       rows_rejected, round(epoch(finished_at) - epoch(started_at), 2) AS seconds, error
FROM loads
ORDER BY started_at DESC
LIMIT $limit;
