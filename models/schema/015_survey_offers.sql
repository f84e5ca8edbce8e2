-- 015_survey_offers: sessions that were OFFERED a survey (it was shown), answered or not.
-- Findings rest on the customers who chose to answer; knowing who was asked lets the
-- statistics measure whether delivery changes who answers and weight the answers back
-- (correlate/selection.py). Analytics events named as offers ([selection] offer_events, e.g.
-- GA4 survey_impression) are read from `events` directly; this table holds offers from
-- sources that have no analytics event stream (PostHog `survey shown` pulled, generic files).
-- key: offer_key (source-specific identity: the vendor's event id, or a keyed hash).
CREATE TABLE survey_offers (
    offer_key   VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    survey      VARCHAR,                   -- the survey's id where the source names one
    session_id  VARCHAR,
    user_id     VARCHAR,                   -- pseudonymised
    offered_at  TIMESTAMPTZ NOT NULL,
    url         VARCHAR,                   -- without query string and fragment
    route       VARCHAR,
    load_id     VARCHAR NOT NULL
);

-- What the run's self-selection check found (offers, answered, weights' trim and effective
-- sample size, flagged subjects); NULL when no offer was recorded in the window.
ALTER TABLE correlate_runs ADD COLUMN selection JSON;
