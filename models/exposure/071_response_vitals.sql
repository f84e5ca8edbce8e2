-- exposure_response_vitals: per response and Core Web Vital, the delivery feature the models
-- read: not_good = the vital was above Google's "good" threshold. CLS (visual stability) and
-- INP (responsiveness) only: LCP measures loading, which the page-load time already carries
-- (log_load) — both in one model would split one effect in two. LCP still counts in the
-- route's figures (exposure_vitals: breaches, the review).
--   session / user links  0/1 from the response's own page: a measurement belongs to the
--                         latest page of its session and route that started before it
--   route_time links      the share of the route's measurements above it in the
--                         $window_minutes before the response — also for a linked page
--                         without a measurement of the vital (no analytics consent, a
--                         collector that missed it): its probability, not "good"
-- A response with neither has no row: 0 in the models, "not known to be poor". (INP needs an
-- interaction: a page without one is rated by its route's share too.)
-- "The latest page before it" is a join on the key and the time order, then the latest per
-- measurement (arg_max, ties broken by page_key): portable SQL that Spark runs too (no ASOF
-- join), as in 030.
-- Parameters: $window_minutes INTEGER
CREATE OR REPLACE TABLE exposure_response_vitals AS
WITH v AS (
    SELECT w.source, w.metric_id, w.session_id, w.route, w.metric, w.value, w.measured_at,
           (w.value > w.good)::DOUBLE AS not_good
    FROM exposure_measured_vitals AS w
    WHERE w.metric IN ('CLS', 'INP')
),
on_page AS (  -- each measurement on the latest page of its session and route before it
    SELECT page_key, metric, max(not_good) AS not_good
    FROM (SELECT v.metric, any_value(v.not_good) AS not_good,
                 arg_max(p.page_key, {'at': p.started_at, 'key': p.page_key}) AS page_key
          FROM v
          JOIN exposure_pages AS p
            ON p.session_id = v.session_id AND p.route = v.route
           AND p.started_at <= v.measured_at
          GROUP BY v.source, v.metric, v.metric_id)  -- one measurement (web_vitals' key)
    GROUP BY page_key, metric
),
direct AS (
    SELECT r.response_key, o.metric, o.not_good
    FROM exposure_responses AS r
    JOIN on_page AS o USING (page_key)
    WHERE r.link IN ('session', 'user')
),
windowed AS (
    SELECT r.response_key, v.metric, avg(v.not_good) AS not_good
    FROM exposure_responses AS r
    JOIN v ON v.route = r.route
          AND v.measured_at >= r.submitted_at - $window_minutes * INTERVAL 1 MINUTE
          AND v.measured_at <= r.submitted_at
    WHERE r.link <> 'none'
    GROUP BY r.response_key, v.metric
)
SELECT response_key, metric, coalesce(d.not_good, w.not_good) AS not_good
FROM windowed AS w
FULL JOIN direct AS d USING (response_key, metric);
