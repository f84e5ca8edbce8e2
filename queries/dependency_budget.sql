-- dependency_budget: each dependency's error budget (its failure rate against an availability
-- objective $slo) beside what its failures and slowness cost customers (latest run).
-- Parameters: $slo DOUBLE (default 0.99), $run_id VARCHAR (default NULL: the latest run)
SELECT f.subject AS dependency, f.verdict,
       (f.doc -> 'delivered' ->> 'calls')::BIGINT AS calls,
       round((f.doc -> 'delivered' ->> 'dependency_failure_rate')::DOUBLE * 100, 2) AS failure_pct,
       round((f.doc -> 'delivered' ->> 'dependency_failure_rate')::DOUBLE / (1 - $slo) * 100)
           AS budget_used_pct,
       round((f.doc -> 'delivered' ->> 'p95_ms')::DOUBLE) AS p95_ms,
       round((f.doc -> 'impact' -> 'extra_poor_responses' ->> 'estimate')::DOUBLE, 1)
           AS extra_poor,
       round((f.doc -> 'impact' -> 'lost_conversions' ->> 'estimate')::DOUBLE, 1)
           AS lost_conversions,
       round((f.doc -> 'impact' -> 'revenue_at_risk' ->> 'estimate')::DOUBLE) AS revenue_at_risk
FROM findings AS f
WHERE f.subject_kind = 'dependency'
  AND f.run_id = coalesce($run_id::VARCHAR,
                          (SELECT run_id FROM correlate_runs ORDER BY created_at DESC LIMIT 1))
ORDER BY extra_poor DESC NULLS LAST, f.subject;
