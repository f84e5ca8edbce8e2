-- insights/score: the counts behind the composite quality score, one row per group of $by
-- (route | segment | channel); parallax.insights.score turns them into the 0-100 components
-- (docs/score.md). Needs the window's exposure models (exposure_pages, exposure_responses).
-- Group membership:
--   route    pages on the route; its responses; sessions with a page on it
--   segment  pages and sessions of sessions of that customer segment (sessions.segment, else
--            the segment a response of the session carries); responses of that segment (the
--            response's own, else its session's)
--   channel  responses given on that survey channel; the pages they are linked to (session or
--            user link) and their sessions
-- Delivery: Apdex at $good_load_ms (satisfied <= T, tolerating <= 4 T, an error page is
-- frustrated), as queries/apdex.sql.
-- Effort: a session is followed by a contact when the same customer (user_id) started a
-- customer contact (not a transfer leg, not outbound) within $contact_days after the
-- session's last page load. FCR over those contacts: contact_outcomes, as
-- models/contacts/outcomes.sql defines it (run first).
-- Parameters: $by VARCHAR, $good_load_ms DOUBLE, $contact_days INTEGER,
--             $since TIMESTAMPTZ, $until TIMESTAMPTZ (NULL = open)
WITH told AS (  -- a segment only the survey carries still names its session's customer
    SELECT session_id, min(segment) AS segment
    FROM feedback
    WHERE session_id IS NOT NULL AND segment IS NOT NULL
    GROUP BY session_id
),
pages AS (
    SELECT p.page_key, p.session_id, p.route, p.load_ms, p.error_seen, p.started_at,
           coalesce(p.user_id, s.user_id) AS user_id,
           coalesce(s.segment, t.segment, '(unknown)') AS segment
    FROM exposure_pages AS p
    LEFT JOIN sessions AS s USING (session_id)
    LEFT JOIN told AS t USING (session_id)
    WHERE ($since::TIMESTAMPTZ IS NULL OR p.started_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR p.started_at < $until::TIMESTAMPTZ)
),
responses AS (
    SELECT response_key, page_key, session_id, metric, score, scale_max, is_poor, link,
           CASE $by WHEN 'route' THEN coalesce(route, '(unknown)')
                    WHEN 'segment' THEN coalesce(segment, '(unknown)')
                    ELSE coalesce(channel, '(unknown)') END AS grp
    FROM exposure_responses
),
grouped_pages AS (
    SELECT route AS grp, * EXCLUDE (route) FROM pages WHERE $by = 'route' AND route IS NOT NULL
    UNION ALL BY NAME
    SELECT segment AS grp, * FROM pages WHERE $by = 'segment'
    UNION ALL BY NAME
    SELECT DISTINCT r.grp, p.* FROM responses AS r JOIN pages AS p USING (page_key)
    WHERE $by = 'channel' AND r.link IN ('session', 'user')
),
sessions_of AS (
    SELECT grp, session_id, any_value(user_id) AS user_id, max(started_at) AS last_at
    FROM grouped_pages
    WHERE session_id IS NOT NULL
    GROUP BY ALL
),
contacts AS (  -- FCR outcomes as contacts/outcomes.sql defines them (run first)
    SELECT * FROM contact_outcomes
    WHERE NOT is_leg AND customer_initiated AND user_id IS NOT NULL
),
followed AS (
    SELECT s.grp, s.session_id, c.source, c.interaction_id, c.first_contact,
           c.fcr_resolved AS resolved
    FROM sessions_of AS s
    JOIN contacts AS c
      ON c.user_id = s.user_id AND c.started_at >= s.last_at
     AND c.started_at <= s.last_at + to_days($contact_days::BIGINT)
),
delivery AS (
    SELECT grp, count(*) FILTER (WHERE load_ms IS NOT NULL) AS pages,
           count(*) FILTER (WHERE NOT coalesce(error_seen, false) AND load_ms <= $good_load_ms)
               AS satisfied,
           count(*) FILTER (WHERE NOT coalesce(error_seen, false) AND load_ms > $good_load_ms
                            AND load_ms <= 4 * $good_load_ms) AS tolerating
    FROM grouped_pages
    GROUP BY grp
),
perceived AS (
    SELECT grp, count(*) AS responses,
           count(*) FILTER (WHERE metric = 'nps') AS nps_responses,
           count(*) FILTER (WHERE metric = 'nps' AND score >= 9) AS promoters,
           count(*) FILTER (WHERE metric = 'nps' AND score <= 6) AS detractors,
           count(*) FILTER (WHERE NOT is_poor) AS not_poor
    FROM responses
    GROUP BY grp
),
effort AS (
    SELECT s.grp, count(DISTINCT s.session_id) AS sessions,
           count(DISTINCT f.session_id) AS sessions_followed,
           count(DISTINCT f.source || chr(31) || f.interaction_id) AS contacts,
           count(DISTINCT f.source || chr(31) || f.interaction_id) FILTER (WHERE f.first_contact)
               AS first_contacts,
           count(DISTINCT f.source || chr(31) || f.interaction_id) FILTER (WHERE f.resolved) AS resolved
    FROM sessions_of AS s
    LEFT JOIN followed AS f USING (grp, session_id)
    GROUP BY s.grp
),
groups AS (
    SELECT grp FROM delivery UNION SELECT grp FROM perceived UNION SELECT grp FROM effort
)
SELECT g.grp AS "group",
       coalesce(d.pages, 0) AS pages, coalesce(d.satisfied, 0) AS satisfied,
       coalesce(d.tolerating, 0) AS tolerating,
       coalesce(p.responses, 0) AS responses, coalesce(p.nps_responses, 0) AS nps_responses,
       coalesce(p.promoters, 0) AS promoters, coalesce(p.detractors, 0) AS detractors,
       coalesce(p.not_poor, 0) AS not_poor,
       coalesce(e.sessions, 0) AS sessions, coalesce(e.sessions_followed, 0) AS sessions_followed,
       coalesce(e.contacts, 0) AS contacts, coalesce(e.first_contacts, 0) AS first_contacts,
       coalesce(e.resolved, 0) AS resolved,
       (SELECT count(*) FROM interactions) AS interactions_stored
FROM groups AS g
LEFT JOIN delivery AS d USING (grp)
LEFT JOIN perceived AS p USING (grp)
LEFT JOIN effort AS e USING (grp)
ORDER BY g.grp;
