-- erase/sessions: the sessions of the person being erased — the given session, and every
-- session a row with their pseudonymised user id belongs to (feedback, spans, sessions,
-- interactions carry user_id; page views and events only the session).
-- Parameters: $user VARCHAR (pseudonym, or NULL), $session VARCHAR (raw session id, or NULL).
CREATE OR REPLACE TEMP TABLE _erase_sessions AS
SELECT DISTINCT session_id
FROM (
    SELECT $session AS session_id
    UNION ALL SELECT session_id FROM sessions WHERE user_id = $user
    UNION ALL SELECT session_id FROM feedback WHERE user_id = $user
    UNION ALL SELECT session_id FROM spans WHERE user_id = $user
    UNION ALL SELECT session_id FROM events WHERE properties->>'$.user_id' = $user
)
WHERE session_id IS NOT NULL;
