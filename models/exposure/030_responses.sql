-- exposure_responses: per feedback response, the delivered experience before it was given,
-- and how the response was linked to it (link). "Before it" is before the respondent began
-- answering (started_at, when the survey was shown or opened), else before submission: an
-- in-page survey answered over a minute is often submitted after the next page has loaded.
--   session     the latest page load of the response's own session on the response's route
--               before it (any route when the response names none)
--   user        no session link: the latest page load of the same user on the route within
--               $window_minutes before it
--   route_time  no key link: the route's pages in the $window_minutes before it,
--               aggregated from exposure_route_buckets (rates and means, never raw spans)
--   none        nothing delivered is known before it
-- channel is the survey's channel (web, email, app, …), a segment factor like device.
-- Direct links give 0/1 features; route_time gives the window's rates (the probability the
-- response's page had each property). deps: per dependency, called / failed / failed_served
-- (failed but the page still came back fine) as 0/1 or rates; calls and ms: per calling page.
-- Calls made outside the page load (a beacon after it, exposure_side_deps) count as the page's,
-- always served and with no time on the page's load.
-- "The latest page load before it" is a join on the key and the time order, then the latest per
-- response (arg_max, ties broken by page_key): portable SQL that Spark runs too (no ASOF join).
-- "Not linked yet" is NOT EXISTS: an anti join on the key wherever it runs (Spark would
-- broadcast a NOT IN subquery whole).
-- Parameters: $use_session BOOLEAN, $use_user BOOLEAN, $window_minutes INTEGER,
--             $since TIMESTAMPTZ, $until TIMESTAMPTZ (NULL = open)
CREATE OR REPLACE TABLE exposure_responses AS
WITH f AS (
    SELECT fb.source || ':' || fb.feedback_id AS response_key, fb.feedback_id, fb.source,
           fb.submitted_at, coalesce(fb.started_at, fb.submitted_at) AS answered_at,
           fb.metric, fb.score, fb.scale_min, fb.scale_max,
           fb.is_poor, fb.route, fb.session_id,
           coalesce(fb.user_id, ses.user_id) AS user_id,
           coalesce(fb.device, ses.device) AS device,
           coalesce(fb.country, ses.country) AS country,
           coalesce(fb.segment, ses.segment) AS segment, fb.channel
    FROM feedback AS fb
    LEFT JOIN sessions AS ses ON ses.session_id = fb.session_id
    WHERE fb.is_poor IS NOT NULL AND fb.submitted_at IS NOT NULL
      AND ($since::TIMESTAMPTZ IS NULL OR fb.submitted_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR fb.submitted_at < $until::TIMESTAMPTZ)
),
by_session AS (
    SELECT f.response_key, arg_max(p.page_key, {'at': p.started_at, 'key': p.page_key})
               AS page_key
    FROM f JOIN exposure_pages AS p
      ON p.session_id = f.session_id AND p.route = f.route AND p.started_at <= f.answered_at
    WHERE $use_session
    GROUP BY f.response_key
    UNION ALL
    SELECT f.response_key, arg_max(p.page_key, {'at': p.started_at, 'key': p.page_key})
    FROM f JOIN exposure_pages AS p
      ON p.session_id = f.session_id AND p.started_at <= f.answered_at
    WHERE $use_session AND f.route IS NULL
    GROUP BY f.response_key
),
by_user AS (
    SELECT f.response_key, arg_max(p.page_key, {'at': p.started_at, 'key': p.page_key})
               AS page_key
    FROM f JOIN exposure_pages AS p
      ON p.user_id = f.user_id AND p.route = f.route AND p.started_at <= f.answered_at
     AND p.started_at >= f.answered_at - $window_minutes * INTERVAL 1 MINUTE
    WHERE $use_user
      AND NOT EXISTS (SELECT 1 FROM by_session AS s WHERE s.response_key = f.response_key)
    GROUP BY f.response_key
),
direct AS (
    SELECT response_key, 'session' AS link, page_key FROM by_session
    UNION ALL
    SELECT response_key, 'user', page_key FROM by_user
),
direct_features AS (
    SELECT d.response_key, d.link, d.page_key, 1 AS pages, p.load_ms,
           -- as in 020: a server-only time counts only when no page has a better timing
           CASE WHEN p.load_ms > 0 AND (p.load_source <> 'server' OR NOT (
                    SELECT coalesce(bool_or(load_source <> 'server'), false) FROM exposure_pages))
                THEN ln(p.load_ms / 1000.0) END AS log_load_s,
           p.error_seen::DOUBLE AS error_seen,
           list_transform(list_concat(list_transform(p.deps, lambda x: {
                                          'peer': x.peer, 'calls': x.calls, 'ms': x.ms,
                                          'failed': x.failed, 'side': false}),
                                      coalesce(sd.deps, [])), lambda x: {
               'peer': x.peer, 'called': 1.0, 'calls': x.calls::DOUBLE,
               'failed': x.failed::DOUBLE,
               'failed_served': (x.failed AND (x.side OR NOT coalesce(p.error_seen, false)))
                   ::DOUBLE,
               'ms': x.ms}) AS deps
    FROM direct AS d
    JOIN exposure_pages AS p USING (page_key)
    LEFT JOIN exposure_side_deps AS sd USING (page_key)
),
windowed AS (
    SELECT f.response_key, b.*
    FROM f
    JOIN exposure_route_buckets AS b
      ON b.route = f.route
     AND b.bucket_start >= f.answered_at - $window_minutes * INTERVAL 1 MINUTE
     AND b.bucket_end <= f.answered_at
    WHERE NOT EXISTS (SELECT 1 FROM direct AS d WHERE d.response_key = f.response_key)
),
window_features AS (
    SELECT response_key, sum(pages) AS pages,
           sum(log_load_sum) / nullif(sum(log_load_n), 0) AS log_load_s,
           sum(errors) / nullif(sum(error_known), 0) AS error_seen
    FROM windowed
    GROUP BY response_key
),
window_deps AS (
    SELECT w.response_key,
           list({'peer': w.peer, 'called': w.calling / t.pages, 'calls': w.calls / w.calling,
                 'failed': w.failed / t.pages, 'failed_served': w.failed_served / t.pages,
                 'ms': w.ms / w.calling}
                ORDER BY w.peer) AS deps
    FROM (SELECT response_key, d.peer AS peer, sum(d.pages)::DOUBLE AS calling,
                 sum(d.calls)::DOUBLE AS calls,
                 sum(d.failed)::DOUBLE AS failed, sum(d.failed_served)::DOUBLE AS failed_served,
                 sum(d.ms) AS ms
          FROM (SELECT response_key, unnest(deps) AS d FROM windowed)
          GROUP BY ALL) AS w
    JOIN window_features AS t USING (response_key)
    GROUP BY w.response_key
),
features AS (
    SELECT response_key, link, page_key, pages, load_ms, log_load_s, error_seen, deps
    FROM direct_features
    UNION ALL
    SELECT wf.response_key, 'route_time', NULL, wf.pages, exp(wf.log_load_s) * 1000.0,
           wf.log_load_s, wf.error_seen, coalesce(wd.deps, [])
    FROM window_features AS wf
    LEFT JOIN window_deps AS wd USING (response_key)
    WHERE wf.pages > 0
)
SELECT f.response_key, f.feedback_id, f.source, f.submitted_at, f.metric, f.score, f.scale_min,
       f.scale_max, f.is_poor, f.route, f.session_id, f.user_id, f.device, f.country, f.segment,
       coalesce(f.user_id, f.session_id, f.response_key) AS cluster_key,
       coalesce(x.link, 'none') AS link, x.page_key, coalesce(x.pages, 0) AS pages,
       x.load_ms, x.log_load_s, x.error_seen, coalesce(x.deps, []) AS deps,
       f.channel
FROM f
LEFT JOIN features AS x USING (response_key);
