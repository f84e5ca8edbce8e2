-- detractor_paths: the click paths (the last $steps routes a session visited before its
-- survey answer) that most often end in a poor answer; responses linked to their own session.
-- Parameters: $limit INTEGER (default 10), $min_responses INTEGER (default 3),
--             $steps INTEGER (default 4)
WITH paths AS (
    SELECT r.response_key, r.is_poor,
           array_to_string(list_slice(list(pv.route ORDER BY pv.seq), -$steps::BIGINT, -1),
                           ' > ') AS path
    FROM exposure_responses AS r
    JOIN page_views AS pv ON pv.session_id = r.session_id AND pv.viewed_at <= r.submitted_at
    WHERE r.link = 'session'
    GROUP BY r.response_key, r.is_poor
)
SELECT path, count(*) AS responses, count(*) FILTER (WHERE is_poor) AS poor,
       round(avg(is_poor::INT) * 100, 1) AS poor_pct
FROM paths
GROUP BY path
HAVING count(*) >= $min_responses
ORDER BY poor DESC, poor_pct DESC, path
LIMIT $limit;
