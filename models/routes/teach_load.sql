-- routes/teach_load: what one load's spans may teach — each distinct (http.route, concrete
-- path) of a span that carries both, with its span count and first and last time, into the
-- temp table _route_seen that routes/learn.sql reads. The concrete path is the first of
-- url.path, http.target, url.full, http.url, http.path (Zipkin's). The load_id filter lets
-- DuckDB skip the row groups of earlier loads. http.route is a path, never a URL: spans whose
-- http_route holds a scheme (browser and client spans, from url.full / http.url) are left out
-- before the JSON is parsed, most of the cost (on a load of 10.5 M spans: 3.2 s → 1.7 s).
-- Parameters: $load_id VARCHAR
CREATE OR REPLACE TEMP TABLE _route_seen AS
SELECT raw, coalesce(v[2], v[3], v[4], v[5], v[6]) AS concrete, count(*) AS spans,
       min(started_at) AS first_seen, max(started_at) AS last_seen
FROM (
    SELECT http_route AS raw, started_at,
           json_extract_string(attributes, ['$."http.route"', '$."url.path"', '$."http.target"',
                                            '$."url.full"', '$."http.url"', '$."http.path"']) AS v
    FROM spans
    WHERE load_id = $load_id
      AND http_route IS NOT NULL
      AND NOT contains(http_route, '://')
)
WHERE v[1] IS NOT NULL AND coalesce(v[2], v[3], v[4], v[5], v[6]) IS NOT NULL
GROUP BY ALL;
