-- contacts/drivers: call drivers as counts — per reason × failure subject, how many contacts
-- sessions made after they met the subject's failure, against sessions that were clean
-- (rates, intervals and costs: parallax.contacts.drivers).
-- Reads contact_outcomes (contacts/outcomes.sql, run first for the FCR window).
-- Parameters: $window_s DOUBLE, $good_ms DOUBLE, $fcr_days INTEGER
-- A failed or slow page load belongs to one subject:
-- * a failed dependency call belongs to the dependency (one subject across every route that
--   calls it: the routes it failed on are listed);
-- * an error page or a load slower than $good_ms with no failed dependency call belongs to the
--   route (where a dependency call failed, the page's error or slowness is the dependency's).
-- Units are sessions (exposure_pages), one per session × subject the session touched:
-- exposed = a load of the session failed on the subject (anchor: the first such load);
-- otherwise the session is kept when none of its loads failed or was slow (anchor: its first
-- load of the subject). A session is *linked* when it carries a customer id: only linked
-- sessions can meet a contact. The comparison reads linked sessions whose customer met no
-- other failure within $window_s either side of the anchor (none at all for a clean one):
-- *sole* exposed (n1s; contacts s1s, q1s) against *clean* (n0; s0, q0), so a failure that
-- comes with another does not lend it its contacts. exposed_all counts every exposed session,
-- linked or not: the excess applies to all of them.
-- Outcome per linked unit and reason: the customer-initiated contacts (no outbound, callback
-- or transfer leg) of the customer's problems about the reason (a first contact and its
-- repeats) whose first contact fell in [anchor, anchor + $window_s).
WITH pages AS (
    SELECT session_id, user_id, route, started_at, deps,
           coalesce(list_bool_or(list_transform(deps, lambda d: coalesce(d.failed, false))),
                    false) AS dep_failed,
           coalesce(error_seen, false) AS error_seen,
           coalesce(load_ms > $good_ms, false) AS slow
    FROM exposure_pages
    WHERE session_id IS NOT NULL AND route IS NOT NULL
),
sess AS (
    SELECT session_id, max(user_id) AS user_id, bool_or(error_seen OR dep_failed OR slow) AS bad
    FROM pages
    GROUP BY session_id
),
subj AS (
    SELECT p.session_id, 'dependency' AS kind, d.peer AS subject, p.route, p.started_at,
           coalesce(d.failed, false) AS hit
    FROM pages AS p, (SELECT unnest(p.deps) AS d)
    WHERE d.peer IS NOT NULL
    UNION ALL
    SELECT session_id, 'route', route, route, started_at,
           (error_seen OR slow) AND NOT dep_failed
    FROM pages
),
raw_units AS (
    SELECT u.*, s.user_id
    FROM (
        SELECT session_id, kind, subject, bool_or(hit) AS exposed,
               coalesce(min(started_at) FILTER (WHERE hit), min(started_at)) AS anchor
        FROM subj
        GROUP BY ALL
    ) AS u
    JOIN sess AS s USING (session_id)
    WHERE u.exposed OR NOT s.bad
),
-- linked units whose customer met another failure within $window_s either side of the anchor
-- (for a clean unit: any failure): that failure's contacts could land on this unit
mixed AS (
    SELECT DISTINCT u.session_id, u.kind, u.subject
    FROM raw_units AS u
    JOIN (SELECT x.kind, x.subject, x.started_at, s.user_id
          FROM subj AS x JOIN sess AS s USING (session_id)
          WHERE x.hit AND s.user_id IS NOT NULL) AS h
      ON h.user_id = u.user_id
     AND h.started_at > u.anchor - to_microseconds(($window_s * 1e6)::BIGINT)
     AND h.started_at < u.anchor + to_microseconds(($window_s * 1e6)::BIGINT)
     AND (NOT u.exposed OR h.kind <> u.kind OR h.subject <> u.subject)
),
units AS (
    SELECT u.*, u.exposed AND m.session_id IS NULL AS sole,
           NOT u.exposed AND m.session_id IS NULL AS clean
    FROM raw_units AS u
    LEFT JOIN mixed AS m USING (session_id, kind, subject)
),
groups AS (
    SELECT kind, subject,
           count(*) FILTER (WHERE exposed) AS exposed_all,
           count(*) FILTER (WHERE exposed AND user_id IS NOT NULL) AS n1,
           count(*) FILTER (WHERE clean AND user_id IS NOT NULL) AS n0,
           count(*) FILTER (WHERE sole AND user_id IS NOT NULL) AS n1s
    FROM units
    GROUP BY ALL
    HAVING count(*) FILTER (WHERE exposed) > 0
),
routes_hit AS (
    SELECT kind, subject, list({'route': route, 'sessions': sessions}
                               ORDER BY sessions DESC, route) AS routes
    FROM (
        SELECT kind, subject, route, count(DISTINCT session_id) AS sessions
        FROM subj
        WHERE hit AND kind = 'dependency'
        GROUP BY ALL
    )
    GROUP BY ALL
),
contacts AS (  -- contact_outcomes: contacts/outcomes.sql, built first
    SELECT source, interaction_id, user_id, coalesce(reason, '(none)') AS reason, started_at,
           answered, contact_handle_s
    FROM contact_outcomes
    WHERE customer_initiated AND NOT is_leg
),
reasons AS (
    SELECT reason, count(*) AS reason_contacts,
           avg(contact_handle_s) FILTER (WHERE answered) AS aht_s
    FROM contacts
    GROUP BY ALL
),
-- one customer's problem: a contact and the repeats about the same reason that follow it,
-- each within $fcr_days of the one before (the FCR window)
problems AS (
    SELECT user_id, reason, min(started_at) AS first_at, count(*) AS k
    FROM (
        SELECT user_id, reason, started_at,
               sum(new::INTEGER) OVER (PARTITION BY user_id, reason
                                       ORDER BY started_at, interaction_id) AS problem
        FROM (
            SELECT user_id, reason, started_at, interaction_id,
                   coalesce(started_at > lag(started_at) OVER (
                                PARTITION BY user_id, reason ORDER BY started_at, interaction_id)
                            + to_days($fcr_days::BIGINT), true) AS new
            FROM contacts
            WHERE user_id IS NOT NULL
        )
    )
    GROUP BY user_id, reason, problem
),
-- a problem belongs to the customer's latest session (per subject) whose anchor precedes its
-- first contact within the window, so no contact counts twice
counted AS (
    SELECT k.session_id, k.kind, k.subject, k.sole, k.clean, p.reason, sum(p.k) AS y
    FROM (
        SELECT p.*, k.session_id, k.kind, k.subject
        FROM problems AS p
        JOIN units AS k
          ON k.user_id = p.user_id AND p.first_at >= k.anchor
         AND p.first_at < k.anchor + to_microseconds(($window_s * 1e6)::BIGINT)
        QUALIFY row_number() OVER (PARTITION BY p.user_id, p.reason, p.first_at, k.kind,
                                                k.subject
                                   ORDER BY k.anchor DESC, k.session_id) = 1
    ) AS p
    JOIN units AS k USING (session_id, kind, subject)
    GROUP BY ALL
),
outcomes AS (
    SELECT kind, subject, reason,
           coalesce(sum(y) FILTER (WHERE clean), 0) AS s0,
           coalesce(sum(y * y) FILTER (WHERE clean), 0) AS q0,
           coalesce(sum(y) FILTER (WHERE sole), 0) AS s1s,
           coalesce(sum(y * y) FILTER (WHERE sole), 0) AS q1s
    FROM counted
    GROUP BY ALL
)
SELECT r.reason, g.kind, g.subject, coalesce(h.routes, []) AS routes, g.exposed_all,
       g.n1, g.n1s, coalesce(o.s1s, 0) AS s1s, coalesce(o.q1s, 0) AS q1s,
       g.n0, coalesce(o.s0, 0) AS s0, coalesce(o.q0, 0) AS q0, r.reason_contacts, r.aht_s
FROM groups AS g
CROSS JOIN reasons AS r
LEFT JOIN outcomes AS o ON o.kind = g.kind AND o.subject = g.subject AND o.reason = r.reason
LEFT JOIN routes_hit AS h ON h.kind = g.kind AND h.subject = g.subject
ORDER BY r.reason, g.kind, g.subject;
