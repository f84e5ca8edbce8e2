-- findings: the findings of one correlate run (the latest when $run_id is NULL), in the
-- order a review reads them: routes, dependencies, segments; worst verdicts first.
-- Parameters: $run_id VARCHAR (default NULL: the latest run)
SELECT f.run_id, f.subject_kind, f.subject, f.verdict, f.doc
FROM findings AS f
WHERE f.run_id = coalesce($run_id::VARCHAR,
                          (SELECT run_id FROM correlate_runs ORDER BY created_at DESC LIMIT 1))
ORDER BY CASE f.subject_kind WHEN 'route' THEN 0 WHEN 'dependency' THEN 1 ELSE 2 END,
         CASE f.verdict WHEN 'delivery' THEN 0 WHEN 'mixed' THEN 1 WHEN 'design' THEN 2
                        WHEN 'silent' THEN 3 WHEN 'inconclusive' THEN 4 ELSE 5 END,
         f.subject;
