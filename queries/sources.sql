-- sources: pull sources, where their cursor stands, the last successful pull and rows loaded.
SELECT s.source, s.type, s.cursor, s.last_success_at,
       coalesce(sum(l.rows_loaded) FILTER (WHERE l.status = 'ok'), 0) AS rows_loaded,
       count(l.load_id) FILTER (WHERE l.status = 'ok') AS pages_loaded,
       s.last_error
FROM source_state s
LEFT JOIN loads l ON l.source = 'pull:' || s.source
GROUP BY ALL
ORDER BY s.source;
