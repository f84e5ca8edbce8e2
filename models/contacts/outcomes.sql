-- contacts/outcomes: one row per stored contact with the first-contact-resolution outcome,
-- defined once for every report that counts FCR (contacts/metrics.sql, insights/score.sql).
-- Creates the temp table contact_outcomes. Definitions (docs/contacts.md):
-- * a transfer leg (initiation transfer / queue_transfer) continues a contact: it is not a
--   contact of its own, nor a first or repeat contact; its resolved flag speaks for the
--   contact it continues.
-- * first contact: an answered, customer-initiated contact of a known customer with no
--   answered contact by the same customer about the same reason in the $fcr_days before.
-- * resolved: no customer-initiated contact (answered or not) about the same reason follows
--   within $fcr_days, and the source does not say it was unresolved; a source's own
--   first-contact flag (resolved_first_contact) decides where it is given. Repeats are looked
--   for in all stored contacts, also outside a report's window.
-- * contact_handle_s: the handle time of the customer contact, its transfer legs summed
--   (null on a leg: it is in the contact it continues).
-- Parameters: $fcr_days INTEGER
CREATE OR REPLACE TEMP TABLE contact_outcomes AS
WITH RECURSIVE chain (source, interaction_id, root) AS (
    SELECT source, interaction_id, interaction_id
    FROM interactions
    WHERE coalesce(initiation NOT IN ('transfer', 'queue_transfer'), true)
    UNION ALL
    SELECT i.source, i.interaction_id, c.root
    FROM interactions AS i
    JOIN chain AS c ON i.source = c.source AND i.previous_interaction_id = c.interaction_id
    WHERE i.initiation IN ('transfer', 'queue_transfer')
),
contact_handle AS (
    SELECT c.source, c.root AS interaction_id, sum(i.handle_s) AS contact_handle_s
    FROM chain AS c JOIN interactions AS i USING (source, interaction_id)
    GROUP BY ALL
),
kinds AS (
    SELECT source, interaction_id, user_id, reason, started_at, resolved,
           resolved_first_contact, previous_interaction_id,
           coalesce(initiation IN ('transfer', 'queue_transfer'), false) AS is_leg,
           coalesce(initiation NOT IN ('outbound', 'callback', 'transfer', 'queue_transfer'),
                    true) AS customer_initiated,
           NOT coalesce(abandoned, false) AS answered
    FROM interactions
),
legs AS (
    SELECT source, previous_interaction_id AS interaction_id,
           bool_and(resolved) FILTER (WHERE resolved IS NOT NULL) AS leg_resolved
    FROM kinds
    WHERE is_leg AND previous_interaction_id IS NOT NULL
    GROUP BY ALL
),
judged AS (
    SELECT k.source, k.interaction_id, k.user_id, k.reason, k.started_at, k.is_leg,
           k.customer_initiated, k.answered, k.resolved_first_contact,
           NOT k.is_leg AND k.customer_initiated AND k.answered AND k.user_id IS NOT NULL
               AND NOT EXISTS (
                   SELECT 1 FROM kinds AS p
                   WHERE p.user_id = k.user_id AND p.reason IS NOT DISTINCT FROM k.reason
                     AND NOT p.is_leg AND p.customer_initiated AND p.answered
                     AND p.started_at < k.started_at
                     AND p.started_at >= k.started_at - to_days($fcr_days::BIGINT)
               ) AS first_contact,
           NOT EXISTS (
               SELECT 1 FROM kinds AS r
               WHERE r.user_id = k.user_id AND r.reason IS NOT DISTINCT FROM k.reason
                 AND NOT r.is_leg AND r.customer_initiated
                 AND r.started_at > k.started_at
                 AND r.started_at <= k.started_at + to_days($fcr_days::BIGINT)
           ) AS no_repeat,
           coalesce(k.resolved, l.leg_resolved) AS resolved_any, h.contact_handle_s
    FROM kinds AS k
    LEFT JOIN legs AS l USING (source, interaction_id)
    LEFT JOIN contact_handle AS h USING (source, interaction_id)
)
SELECT *, first_contact AND coalesce(resolved_first_contact,
                                     no_repeat AND resolved_any IS NOT false) AS fcr_resolved
FROM judged;
