-- drill_interaction: one contact-centre interaction (by interaction id or source:interaction
-- id) with the transfer legs that continue it: channel, reason, times, wait, handle time,
-- outcome, the customer (pseudonymised) and the verbatim.
-- Parameters: $interaction VARCHAR
WITH hit AS (
    SELECT source, interaction_id
    FROM interactions
    WHERE interaction_id = $interaction OR source || ':' || interaction_id = $interaction
)
SELECT i.source || ':' || i.interaction_id AS interaction, i.reason, i.channel, i.initiation,
       i.queue, i.user_id AS customer, i.started_at, i.wait_s, i.handle_s, i.abandoned,
       i.transfers, i.resolved, i.csat, i.verbatim
FROM interactions AS i
JOIN hit AS h
  ON i.source = h.source
 AND (i.interaction_id = h.interaction_id OR i.previous_interaction_id = h.interaction_id)
ORDER BY i.started_at, i.interaction_id;
