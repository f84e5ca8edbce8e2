-- contacts/drivers: call drivers as counts — per reason × (route, dependency), how often a
-- customer contacted the centre in the window after a failed or slow page load, against
-- sessions that were clean (rates, the interval and costs: parallax.drivers).
-- Parameters: $window_s DOUBLE, $good_ms DOUBLE
-- Units are logged-in sessions (exposure_pages with a user_id), one per session × subject:
-- * subject (route, NULL): a load of the route; it is *hit* when it failed (error_seen or a
--   failed dependency) or was slow (load_ms > $good_ms);
-- * subject (route, dependency): a load of the route that called the dependency; hit when
--   that dependency's call failed.
-- exposed = the session has a hit load of the subject (window from the first one);
-- clean = the session touched the subject and none of its loads failed or was slow (window
-- from its first load of the subject). Other sessions are neither.
-- Outcome: a customer-initiated contact that is not a transfer leg, same customer, about the
-- reason, started in [anchor, anchor + $window_s).
-- Contact side: a contact is *linked* to a subject when the customer loaded it in the window
-- before the contact, and *after failure* when one of those loads was hit.
WITH pages AS (
    SELECT session_id, user_id, route, started_at,
           coalesce(error_seen, false)
               OR coalesce(list_bool_or(list_transform(deps, lambda d: d.failed)), false)
               AS failed,
           coalesce(load_ms > $good_ms, false) AS slow,
           deps
    FROM exposure_pages
    WHERE user_id IS NOT NULL AND session_id IS NOT NULL AND route IS NOT NULL
),
bad AS (
    SELECT session_id, bool_or(failed OR slow) AS bad FROM pages GROUP BY session_id
),
subj AS (
    SELECT session_id, user_id, route, NULL::VARCHAR AS dependency, started_at,
           failed OR slow AS hit
    FROM pages
    UNION ALL
    SELECT p.session_id, p.user_id, p.route, d.peer, p.started_at, coalesce(d.failed, false)
    FROM pages AS p, (SELECT unnest(p.deps) AS d)
    WHERE d.peer IS NOT NULL
),
units AS (
    SELECT s.session_id, any_value(s.user_id) AS user_id, s.route, s.dependency,
           bool_or(s.hit) AS exposed,
           coalesce(min(s.started_at) FILTER (WHERE s.hit), min(s.started_at)) AS anchor
    FROM subj AS s
    GROUP BY s.session_id, s.route, s.dependency
),
kept AS (
    SELECT u.* FROM units AS u JOIN bad AS b USING (session_id) WHERE u.exposed OR NOT b.bad
),
contacts AS (
    SELECT source, interaction_id, user_id, coalesce(reason, '(none)') AS reason, started_at
    FROM interactions
    WHERE user_id IS NOT NULL
      AND coalesce(initiation NOT IN ('outbound', 'callback', 'transfer', 'queue_transfer'),
                   true)
),
reasons AS (
    SELECT coalesce(reason, '(none)') AS reason,
           avg(handle_s) FILTER (WHERE NOT coalesce(abandoned, false)) AS aht_s
    FROM interactions
    GROUP BY ALL
),
groups AS (
    SELECT route, dependency, count(*) FILTER (WHERE exposed) AS n1,
           count(*) FILTER (WHERE NOT exposed) AS n0
    FROM kept
    GROUP BY ALL
),
outcomes AS (
    SELECT reason, route, dependency,
           count(*) FILTER (WHERE exposed) AS a1, count(*) FILTER (WHERE NOT exposed) AS a0
    FROM (
        SELECT DISTINCT k.session_id, k.route, k.dependency, k.exposed, c.reason
        FROM kept AS k
        JOIN contacts AS c
          ON c.user_id = k.user_id AND c.started_at >= k.anchor
         AND c.started_at < k.anchor + to_microseconds(($window_s * 1e6)::BIGINT)
    )
    GROUP BY ALL
),
linked AS (
    SELECT reason, route, dependency, count(*) AS contacts,
           count(*) FILTER (WHERE after_failure) AS after_failure
    FROM (
        SELECT c.source, c.interaction_id, c.reason, s.route, s.dependency,
               bool_or(s.hit) AS after_failure
        FROM contacts AS c
        JOIN subj AS s
          ON s.user_id = c.user_id AND s.started_at < c.started_at
         AND s.started_at >= c.started_at - to_microseconds(($window_s * 1e6)::BIGINT)
        GROUP BY ALL
    )
    GROUP BY ALL
)
SELECT l.reason, l.route, l.dependency, l.contacts, l.after_failure,
       coalesce(g.n1, 0) AS exposed_sessions, coalesce(o.a1, 0) AS exposed_with_contact,
       coalesce(g.n0, 0) AS clean_sessions, coalesce(o.a0, 0) AS clean_with_contact,
       r.aht_s
FROM linked AS l
LEFT JOIN groups AS g
    ON g.route = l.route AND g.dependency IS NOT DISTINCT FROM l.dependency
LEFT JOIN outcomes AS o
    ON o.reason = l.reason AND o.route = l.route
   AND o.dependency IS NOT DISTINCT FROM l.dependency
LEFT JOIN reasons AS r ON r.reason = l.reason
ORDER BY l.reason, l.route, l.dependency NULLS FIRST;
