-- 014_web_vitals: Core Web Vitals measurements (Google's web-vitals library, as RUM tools
-- collect them) in one canonical shape, and the thresholds they are rated against.
--
-- web_vital_thresholds: Google's "good" / "poor" boundaries per metric (web.dev/articles/vitals,
-- the web-vitals library's thresholds): a value <= good is good, > poor is poor, between is
-- needs-improvement. LCP, INP, FCP, TTFB in milliseconds, CLS unitless. Every reader (the view
-- below, the named query, correlate's delivery figures) takes them from this one table.
CREATE TABLE web_vital_thresholds (
    metric  VARCHAR PRIMARY KEY,
    good    DOUBLE NOT NULL,
    poor    DOUBLE NOT NULL,
    unit    VARCHAR NOT NULL,
    core    BOOLEAN NOT NULL              -- one of the three Core Web Vitals
);
INSERT INTO web_vital_thresholds VALUES
    ('LCP', 2500, 4000, 'ms', true),
    ('INP', 200, 500, 'ms', true),
    ('CLS', 0.1, 0.25, 'score', true),
    ('FCP', 1800, 3000, 'ms', false),
    ('TTFB', 800, 1800, 'ms', false);

-- web_vitals: one row per measurement (metric_id), read from the rows the connectors already
-- store, so routes (re-learned templates), erasure and re-loads apply to vitals exactly as to
-- the events and spans they come from — nothing is copied that could drift:
--   GA4 export      events named LCP / INP / CLS / FCP / TTFB with params metric_value,
--                   metric_id, metric_rating, metric_delta, debug_target (Google's documented
--                   web-vitals → gtag → BigQuery pattern)
--   PostHog         $web_vitals events: $web_vitals_<M>_value and $web_vitals_<M>_event
--                   ({name, value, rating, delta, id, …}); one event may carry several metrics
--   generic file    web_vital events (connectors/files/vitals_generic.py)
--   OpenTelemetry   browser spans with browser.web_vital.{name,value,rating,id} attributes
--                   (OTel semantic conventions), or a span named after the vital with
--                   <vital>.value / .rating / .id attributes (Honeycomb's web instrumentation)
-- The library reports a metric again as it grows (CLS, LCP): the last report of a metric_id is
-- its value. route: the row's own (its page URL through the shared normalisation), else the
-- session's latest page view at or before the measurement. rating: the source's when it is one
-- of good / needs-improvement / poor, else from web_vital_thresholds.
CREATE VIEW web_vitals AS
WITH ga4 AS (
    SELECT session_id, route, upper(name) AS metric,
           TRY_CAST(properties->>'$.params.metric_value' AS DOUBLE) AS value,
           properties->>'$.params.metric_rating' AS rating,
           occurred_at AS measured_at, source,
           coalesce(properties->>'$.params.metric_id', event_key) AS metric_id
    FROM events
    WHERE source = 'ga4-ndjson' AND upper(name) IN ('LCP', 'INP', 'CLS', 'FCP', 'TTFB')
),
posthog AS (
    SELECT e.session_id, e.route, m.metric,
           TRY_CAST(json_extract_string(e.properties,
                    '$."$web_vitals_' || m.metric || '_value"') AS DOUBLE) AS value,
           json_extract_string(e.properties,
                               '$."$web_vitals_' || m.metric || '_event".rating') AS rating,
           e.occurred_at AS measured_at, e.source,
           coalesce(json_extract_string(e.properties,
                                        '$."$web_vitals_' || m.metric || '_event".id'),
                    e.event_key || ':' || m.metric) AS metric_id
    FROM events AS e
    CROSS JOIN (VALUES ('LCP'), ('INP'), ('CLS'), ('FCP'), ('TTFB')) AS m(metric)
    WHERE e.source = 'posthog-events' AND e.name = '$web_vitals'
),
generic AS (
    SELECT session_id, route, upper(properties->>'$.metric') AS metric,
           TRY_CAST(properties->>'$.value' AS DOUBLE) AS value,
           properties->>'$.rating' AS rating, occurred_at AS measured_at, source,
           coalesce(properties->>'$.metric_id', event_key) AS metric_id
    FROM events
    WHERE name = 'web_vital' AND source IN ('web-vitals-csv', 'web-vitals-ndjson')
),
otel AS (
    SELECT session_id, route, metric,
           TRY_CAST(coalesce(attributes->>('$."browser.web_vital.value"'),
                             attributes->>('$."' || lower(metric) || '.value"')) AS DOUBLE)
               AS value,
           coalesce(attributes->>('$."browser.web_vital.rating"'),
                    attributes->>('$."' || lower(metric) || '.rating"')) AS rating,
           started_at AS measured_at, source,
           coalesce(attributes->>('$."browser.web_vital.id"'),
                    attributes->>('$."' || lower(metric) || '.id"'),
                    trace_id || ':' || span_id) AS metric_id
    FROM (
        SELECT *, upper(coalesce(attributes->>'$."browser.web_vital.name"', name)) AS metric
        FROM spans
        WHERE attributes->>'$."browser.web_vital.name"' IS NOT NULL
           OR (upper(name) IN ('LCP', 'INP', 'CLS', 'FCP', 'TTFB')
               AND attributes->>('$."' || lower(name) || '.value"') IS NOT NULL)
    ) AS s
),
measured AS (
    SELECT * FROM ga4 UNION ALL SELECT * FROM posthog
    UNION ALL SELECT * FROM generic UNION ALL SELECT * FROM otel
),
latest AS (
    SELECT *
    FROM measured
    WHERE value IS NOT NULL AND metric IN (SELECT metric FROM web_vital_thresholds)
    QUALIFY row_number() OVER (PARTITION BY source, metric, metric_id
                               ORDER BY measured_at DESC, value DESC) = 1
),
routed AS (
    SELECT l.*, p.route AS page_route
    FROM latest AS l
    ASOF LEFT JOIN page_views AS p
      ON p.session_id = l.session_id AND l.measured_at >= p.viewed_at
)
SELECT r.session_id, coalesce(r.route, r.page_route) AS route, r.metric, r.value,
       CASE WHEN lower(replace(r.rating, '_', '-')) IN ('good', 'needs-improvement', 'poor')
            THEN lower(replace(r.rating, '_', '-'))
            WHEN r.value <= t.good THEN 'good'
            WHEN r.value <= t.poor THEN 'needs-improvement'
            ELSE 'poor' END AS rating,
       r.measured_at, r.source, r.metric_id
FROM routed AS r
JOIN web_vital_thresholds AS t USING (metric);
