-- review_headline: the headline figures of the join model's window (the latest correlate
-- run's): responses, poor answers, NPS where NPS was asked, sessions, conversions, revenue,
-- and the first and last session.
-- No parameters.
WITH r AS (
    SELECT count(*) AS responses, count(*) FILTER (WHERE is_poor) AS poor,
           count(*) FILTER (WHERE metric = 'nps') AS nps_responses,
           100.0 * (count(*) FILTER (WHERE metric = 'nps' AND score >= 9)
                    - count(*) FILTER (WHERE metric = 'nps' AND score <= 6))
               / nullif(count(*) FILTER (WHERE metric = 'nps'), 0) AS nps
    FROM exposure_responses
), s AS (
    SELECT count(*) AS sessions, count(*) FILTER (WHERE converted) AS conversions,
           sum(revenue) AS revenue, min(started_at) AS first_session,
           max(started_at) AS last_session
    FROM exposure_sessions
)
SELECT * FROM r, s;
