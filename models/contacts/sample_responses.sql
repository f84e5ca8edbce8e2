-- contacts/sample_responses: the population `parallax sample responses` draws from: one row
-- per stored survey response, with the columns strata may use and the context an evaluator
-- reads.
-- Parameters: $since TIMESTAMPTZ (default NULL), $until TIMESTAMPTZ (default NULL)
SELECT source, feedback_id AS id, channel, metric, route, device, country, segment, is_poor,
       submitted_at, score, verbatim
FROM feedback
WHERE ($since IS NULL OR submitted_at >= $since) AND ($until IS NULL OR submitted_at < $until)
ORDER BY source, feedback_id;
