-- selection_links: which survey offer each response answered — the latest offer of its
-- session at or before the moment the respondent began (started_at, else submitted), with
-- $grace_seconds of slack (a survey tool may store the start to the second, the analytics
-- event to the microsecond). One offer per response; an offer may hold several (a survey of
-- several questions answered in parts). Built before selection_offers (which reads it).
-- "The latest offer at or before" is a join on the session and the time order, then the
-- latest per response (arg_max, ties broken by offer_key): portable SQL that Spark runs too
-- (no ASOF join), as in models/exposure/030_responses.sql.
-- Parameters: $offer_events VARCHAR[], $grace_seconds INTEGER
CREATE OR REPLACE TABLE selection_links AS
WITH o AS (
    SELECT offer_key, session_id, offered_at FROM survey_offers WHERE session_id IS NOT NULL
    UNION ALL
    SELECT event_key, session_id, occurred_at FROM events
    WHERE list_contains($offer_events::VARCHAR[], name) AND session_id IS NOT NULL
),
f AS (
    SELECT source || ':' || feedback_id AS response_key, session_id,
           coalesce(started_at, submitted_at) + $grace_seconds * INTERVAL 1 SECOND AS began
    FROM feedback
    WHERE session_id IS NOT NULL AND is_poor IS NOT NULL AND submitted_at IS NOT NULL
)
SELECT f.response_key, arg_max(o.offer_key, {'at': o.offered_at, 'key': o.offer_key})
           AS offer_key
FROM f JOIN o ON o.session_id = f.session_id AND o.offered_at <= f.began
GROUP BY f.response_key;
