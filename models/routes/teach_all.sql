-- routes/teach_all: what every stored span may teach, into _route_seen like
-- routes/teach_load.sql — run when learning is turned on (or first met) in a database whose
-- spans were loaded without it.
-- No parameters.
CREATE OR REPLACE TEMP TABLE _route_seen AS
SELECT raw, coalesce(v[2], v[3], v[4], v[5], v[6]) AS concrete, count(*) AS spans,
       min(started_at) AS first_seen, max(started_at) AS last_seen
FROM (
    SELECT http_route AS raw, started_at,
           json_extract_string(attributes, ['$."http.route"', '$."url.path"', '$."http.target"',
                                            '$."url.full"', '$."http.url"', '$."http.path"']) AS v
    FROM spans
    WHERE http_route IS NOT NULL
      AND NOT contains(http_route, '://')
)
WHERE v[1] IS NOT NULL AND coalesce(v[2], v[3], v[4], v[5], v[6]) IS NOT NULL
GROUP BY ALL;
