-- contacts/metrics: contact-centre metrics per group, as counts (rates and intervals are
-- computed by parallax.contacts.metrics). One row per group of $by: all | channel | queue |
-- reason | week (ISO week of started_at, e.g. 2026-W10).
-- Reads contact_outcomes (contacts/outcomes.sql, run first for the FCR window).
-- Parameters: $by VARCHAR, $service_level_s DOUBLE, $aht VARCHAR (record | contact),
--             $abandonment VARCHAR (queued | inbound),
--             $since TIMESTAMPTZ (default NULL), $until TIMESTAMPTZ (default NULL)
-- Definitions (docs/contacts.md):
-- * contacts = records that are not transfer legs; FCR as contacts/outcomes.sql defines it.
-- * AHT, $aht = 'record': mean handle_s of answered records, a transfer leg a record of its
--   own (as Amazon Connect reports it); 'contact': mean handle time of answered customer
--   contacts, their transfer legs summed (contact_handle_s). ASA = mean wait_s of answered
--   inbound records.
-- * abandonment, $abandonment = 'queued': abandoned / records whose queue outcome is known
--   (abandoned not null; legs included); 'inbound': abandoned / customer-initiated contacts
--   (no legs; a contact that never queued counts in the denominator).
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
contacts AS (
    SELECT s.*, o.is_leg, o.customer_initiated, o.answered, o.first_contact, o.fcr_resolved,
           o.contact_handle_s,
           CASE $by WHEN 'channel' THEN s.channel WHEN 'queue' THEN s.queue
                    WHEN 'reason' THEN s.reason WHEN 'week' THEN strftime(s.started_at, '%G-W%V')
                    ELSE 'all' END AS grp
    FROM scope AS s
    JOIN contact_outcomes AS o USING (source, interaction_id)  -- contacts/outcomes.sql
),
grouped AS (
    SELECT grp,
           count(*) FILTER (WHERE NOT is_leg) AS contacts,
           count(*) FILTER (WHERE first_contact) AS fcr_first,
           count(*) FILTER (WHERE fcr_resolved) AS fcr_resolved,
           CASE $aht WHEN 'contact'
                THEN avg(contact_handle_s) FILTER (WHERE answered AND NOT is_leg)
                ELSE avg(handle_s) FILTER (WHERE answered) END AS aht_s,
           avg(wait_s) FILTER (WHERE answered AND coalesce(initiation, '') <> 'outbound')
               AS asa_s,
           CASE $abandonment WHEN 'inbound'
                THEN count(*) FILTER (WHERE abandoned AND customer_initiated AND NOT is_leg)
                ELSE count(*) FILTER (WHERE abandoned) END AS abandoned,
           CASE $abandonment WHEN 'inbound'
                THEN count(*) FILTER (WHERE customer_initiated AND NOT is_leg)
                ELSE count(*) FILTER (WHERE abandoned IS NOT NULL) END AS queued,
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
