-- duckdb_native_otlp: the canonical span columns of an OpenTelemetry Collector JSON-lines file,
-- extracted by DuckDB alone into an in-memory table — the benchmark's yardstick for the loader.
-- It is written the way one would write it for DuckDB (explicit schema, no sampling, values
-- read as text, a map per span for the semantic-convention keys) and extracts the same fields
-- as the loader: ids, service, name, kind, start, duration, error, HTTP status, method, route
-- (query string cut), peer (client/producer; else the URL's host), session and user (span,
-- then resource), attributes and resource as JSON. What it leaves out is what a load must do
-- besides: no pseudonymisation, no route normalisation, no checks (a bad span is stored or
-- silently NULL), no deduplication, nothing written to disk. Params: $file.
CREATE OR REPLACE TABLE native_spans AS
WITH docs AS (
    SELECT unnest(resourceSpans) AS rs
    FROM read_json($file, format = 'newline_delimited', records = true,
        columns = {'resourceSpans': 'STRUCT(
            resource STRUCT(attributes STRUCT(key VARCHAR, value STRUCT(stringValue VARCHAR,
                intValue VARCHAR, doubleValue DOUBLE, boolValue BOOLEAN))[]),
            scopeSpans STRUCT(spans STRUCT(traceId VARCHAR, spanId VARCHAR,
                parentSpanId VARCHAR, name VARCHAR, kind INTEGER, startTimeUnixNano VARCHAR,
                endTimeUnixNano VARCHAR, attributes STRUCT(key VARCHAR, value STRUCT(
                    stringValue VARCHAR, intValue VARCHAR, doubleValue DOUBLE,
                    boolValue BOOLEAN))[], status STRUCT(code INTEGER))[])[])[]'})
),
resources AS (
    SELECT map_from_entries(list_transform(rs.resource.attributes, lambda x: {'k': x.key,
               'v': coalesce(x.value.stringValue, x.value.intValue,
                             x.value.doubleValue::VARCHAR, x.value.boolValue::VARCHAR)})) AS r,
           unnest(rs.scopeSpans) AS ss
    FROM docs
),
spans AS (SELECT r, unnest(ss.spans) AS s FROM resources),
flat AS (
    SELECT s, r,
        map_from_entries(list_transform(s.attributes, lambda x: {'k': x.key,
            'v': coalesce(x.value.stringValue, x.value.intValue, x.value.doubleValue::VARCHAR,
                          x.value.boolValue::VARCHAR)})) AS a
    FROM spans
),
cols AS (
    SELECT s, r, a,
        TRY_CAST(coalesce(a['http.response.status_code'], a['http.status_code']) AS INTEGER)
            AS status_code,
        split_part(split_part(coalesce(a['http.route'], a['url.full'], a['http.url'],
            a['url.path'], a['http.target'], a['http.path']), '#', 1), '?', 1) AS http_route
    FROM flat
)
SELECT
    lower(s.traceId) AS trace_id,
    lower(s.spanId) AS span_id,
    nullif(lower(s.parentSpanId), '') AS parent_span_id,
    r['service.name'] AS service,
    nullif(s.name, '') AS name,
    ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'][coalesce(s.kind, 0) + 1]
        AS kind,
    make_timestamp((s.startTimeUnixNano::HUGEINT // 1000)::BIGINT)::TIMESTAMPTZ AS started_at,
    (s.endTimeUnixNano::HUGEINT - s.startTimeUnixNano::HUGEINT) / 1e6 AS duration_ms,
    coalesce(s.status.code = 2, false) OR coalesce(status_code >= 500, false)
        OR a['error.type'] IS NOT NULL AS is_error,
    status_code,
    coalesce(a['http.request.method'], a['http.method']) AS http_method,
    http_route,
    CASE WHEN s.kind IN (3, 4)
         THEN coalesce(a['peer.service'], a['server.address'], a['net.peer.name'],
                       regexp_extract(coalesce(a['url.full'], a['http.url']),
                                      '^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?([^:/?#]+)', 1))
         END AS peer,
    coalesce(a['session.id'], r['session.id']) AS session_id,
    coalesce(a['enduser.id'], a['user.id'], r['enduser.id'], r['user.id']) AS user_id,
    to_json(a) AS attributes,
    to_json(r) AS resource
FROM cols;
