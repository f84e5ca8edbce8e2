-- contacts/metrics: contact-centre metrics per group, as counts (rates and intervals are
-- computed by parallax.contacts). One row per group of $by: all | channel | queue | reason |
-- week (ISO week of started_at, e.g. 2026-W10).
-- Parameters: $by VARCHAR, $fcr_days INTEGER, $service_level_s DOUBLE,
--             $since TIMESTAMPTZ (default NULL), $until TIMESTAMPTZ (default NULL)
-- Definitions (docs/contacts.md):
-- * a transfer leg (initiation transfer / queue_transfer) continues a contact: it is not
--   counted as a contact of its own, nor as a first or repeat contact; its handle and wait
--   times count, and its resolved flag speaks for the contact it continues.
-- * contacts = records that are not transfer legs.
-- * FCR: first contacts are answered, customer-initiated contacts of a known customer with
--   no answered contact by the same customer about the same reason in the $fcr_days before;
--   one counts as resolved when no customer-initiated contact (answered or not) about the
--   same reason follows within $fcr_days and the source does not say it was unresolved.
--   A source's own first-contact flag (resolved_first_contact) decides where it is given.
--   Repeats are looked for in all stored contacts, also outside the window.
-- * AHT = mean handle_s of answered contacts; ASA = mean wait_s of answered inbound ones.
-- * abandonment = abandoned / contacts whose queue outcome is known (abandoned not null).
-- * service level = answered within $service_level_s / (abandoned + answered with a wait).
-- * sessions = sessions started in the period ($since..$until, else the days the contacts
--   span), per ISO week when $by = 'week'.
WITH scope AS (
    SELECT *
    FROM interactions
    WHERE ($since IS NULL OR started_at >= $since) AND ($until IS NULL OR started_at < $until)
),
period AS (
    SELECT coalesce($since, date_trunc('day', min(started_at))) AS p_start,
           coalesce($until, date_trunc('day', max(started_at)) + INTERVAL 1 DAY) AS p_end
    FROM scope
),
kinds AS (
    SELECT source, interaction_id, user_id, reason, started_at,
           coalesce(initiation IN ('transfer', 'queue_transfer'), false) AS is_leg,
           coalesce(initiation NOT IN ('outbound', 'callback', 'transfer', 'queue_transfer'),
                    true) AS customer_initiated,
           NOT coalesce(abandoned, false) AS answered
    FROM interactions
),
legs AS (
    SELECT i.source, i.previous_interaction_id AS interaction_id,
           bool_and(i.resolved) FILTER (WHERE i.resolved IS NOT NULL) AS leg_resolved
    FROM interactions AS i
    WHERE i.initiation IN ('transfer', 'queue_transfer') AND i.previous_interaction_id IS NOT NULL
    GROUP BY ALL
),
contacts AS (
    SELECT s.*, k.is_leg, k.customer_initiated, k.answered,
           CASE $by WHEN 'channel' THEN s.channel WHEN 'queue' THEN s.queue
                    WHEN 'reason' THEN s.reason WHEN 'week' THEN strftime(s.started_at, '%G-W%V')
                    ELSE 'all' END AS grp,
           NOT k.is_leg AND k.customer_initiated AND k.answered AND s.user_id IS NOT NULL
               AND NOT EXISTS (
                   SELECT 1 FROM kinds AS p
                   WHERE p.user_id = s.user_id AND p.reason IS NOT DISTINCT FROM s.reason
                     AND NOT p.is_leg AND p.customer_initiated AND p.answered
                     AND p.started_at < s.started_at
                     AND p.started_at >= s.started_at - to_days($fcr_days)
               ) AS first_contact,
           NOT EXISTS (
               SELECT 1 FROM kinds AS r
               WHERE r.user_id = s.user_id AND r.reason IS NOT DISTINCT FROM s.reason
                 AND NOT r.is_leg AND r.customer_initiated
                 AND r.started_at > s.started_at
                 AND r.started_at <= s.started_at + to_days($fcr_days)
           ) AS no_repeat,
           coalesce(s.resolved, l.leg_resolved) AS resolved_any
    FROM scope AS s
    JOIN kinds AS k USING (source, interaction_id)
    LEFT JOIN legs AS l USING (source, interaction_id)
),
grouped AS (
    SELECT grp,
           count(*) FILTER (WHERE NOT is_leg) AS contacts,
           count(*) FILTER (WHERE first_contact) AS fcr_first,
           count(*) FILTER (WHERE first_contact AND coalesce(
               resolved_first_contact, no_repeat AND resolved_any IS NOT false)) AS fcr_resolved,
           avg(handle_s) FILTER (WHERE answered) AS aht_s,
           avg(wait_s) FILTER (WHERE answered AND coalesce(initiation, '') <> 'outbound')
               AS asa_s,
           count(*) FILTER (WHERE abandoned) AS abandoned,
           count(*) FILTER (WHERE abandoned IS NOT NULL) AS queued,
           count(*) FILTER (WHERE answered AND wait_s <= $service_level_s
                            AND coalesce(initiation, '') <> 'outbound') AS within_sl,
           count(*) FILTER (WHERE abandoned OR (wait_s IS NOT NULL
                            AND coalesce(initiation, '') <> 'outbound')) AS sl_base
    FROM contacts
    GROUP BY grp
),
sessions_in AS (
    SELECT CASE WHEN $by = 'week' THEN strftime(s.started_at, '%G-W%V') END AS week,
           count(*) AS sessions
    FROM sessions AS s, period AS p
    WHERE s.started_at >= p.p_start AND s.started_at < p.p_end
    GROUP BY ALL
)
SELECT g.grp AS "group", g.contacts, g.fcr_first, g.fcr_resolved, g.aht_s, g.asa_s,
       g.abandoned, g.queued, g.within_sl, g.sl_base, coalesce(w.sessions, 0) AS sessions
FROM grouped AS g
LEFT JOIN sessions_in AS w
    ON w.week IS NOT DISTINCT FROM (CASE WHEN $by = 'week' THEN g.grp END)
ORDER BY CASE WHEN $by = 'week' THEN g.grp END, g.contacts DESC, g.grp NULLS LAST;
