-- contacts/sample_interactions: the population `parallax sample interactions` draws from:
-- one row per stored contact (transfer legs excluded: they continue a contact), with the
-- columns strata may use and the context an evaluator reads.
-- Parameters: $since TIMESTAMPTZ (default NULL), $until TIMESTAMPTZ (default NULL)
SELECT source, interaction_id AS id, channel, reason, queue, initiation,
       coalesce(abandoned, false) AS abandoned, resolved, agent_id, started_at, wait_s,
       handle_s, csat, verbatim
FROM interactions
WHERE ($since IS NULL OR started_at >= $since) AND ($until IS NULL OR started_at < $until)
  AND coalesce(initiation NOT IN ('transfer', 'queue_transfer'), true)
ORDER BY source, interaction_id;
