-- exposure/vitals_present: could any stored row be a Core Web Vitals measurement? One boolean,
-- true for every row the web_vitals view (models/schema/014_web_vitals.sql) reads a vital from,
-- and true for more: the events' test is the view's own name and source tests; the spans' test
-- is a substring search of the attributes text for "web_vital" (the attribute names
-- browser.web_vital.*) instead of the view's JSON extraction, and any backslash counts too (a
-- key written with \u escapes would hide the name from the search, not from the extraction).
-- '_web_vitals' matches PostHog's '$web_vitals' (LIKE's one-character wildcard: no '$' here,
-- which would read as a parameter).
-- When it is false, 065 builds its table empty without the view's scan of every span's and
-- event's JSON — most of the window's SQL time on a database without vitals.
-- Read by parallax.exposure.build_exposure before the numbered models.
-- No parameters.
SELECT EXISTS (
           SELECT 1 FROM events
           WHERE (source = 'ga4-ndjson' AND upper(name) IN ('LCP', 'INP', 'CLS', 'FCP', 'TTFB'))
              OR (source = 'posthog-events' AND name LIKE '_web_vitals')
              OR (name = 'web_vital' AND source IN ('web-vitals-csv', 'web-vitals-ndjson')))
    OR EXISTS (
           SELECT 1 FROM spans
           WHERE upper(name) IN ('LCP', 'INP', 'CLS', 'FCP', 'TTFB')
              OR strpos(attributes::VARCHAR, 'web_vital') > 0
              OR strpos(attributes::VARCHAR, chr(92)) > 0) AS present
