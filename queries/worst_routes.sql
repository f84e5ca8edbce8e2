-- worst_routes: routes ranked by the gap between the poor-feedback rate customers reported
-- and the rate expected at the site's normal, beside what IT measured there (latest run).
-- Parameters: $limit INTEGER (default 10), $run_id VARCHAR (default NULL: the latest run)
SELECT f.subject AS route, f.verdict, f.n_responses AS responses,
       round(f.poor_rate * 100, 1) AS poor_pct,
       round((f.doc ->> 'baseline_poor_rate')::DOUBLE * 100, 1) AS normal_pct,
       round((f.poor_rate - (f.doc ->> 'baseline_poor_rate')::DOUBLE) * 100, 1) AS gap_points,
       round((f.doc -> 'delivered' ->> 'p75_ms')::DOUBLE) AS p75_ms,
       round((f.doc -> 'delivered' ->> 'error_rate')::DOUBLE * 100, 2) AS error_pct,
       round((f.doc -> 'impact' -> 'extra_poor_responses' ->> 'estimate')::DOUBLE, 1)
           AS poor_from_delivery
FROM findings AS f
WHERE f.subject_kind = 'route' AND f.poor_rate IS NOT NULL
  AND f.run_id = coalesce($run_id::VARCHAR,
                          (SELECT run_id FROM correlate_runs ORDER BY created_at DESC LIMIT 1))
ORDER BY gap_points DESC NULLS LAST, f.subject
LIMIT $limit;
