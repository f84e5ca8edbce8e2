-- duckdb_native_otlp: the same work as the otlp-jsonl parser, done by DuckDB alone, for the
-- benchmark's "which parsing path" comparison. Parse with an explicit schema (no sampling),
-- unnest resource → scope → span, flatten attributes, pick the semantic-convention fields and
-- store the rows. Pseudonymisation and route normalisation (no SQL equivalent) are left out,
-- so this is a lower bound on a DuckDB-native path. Params: $file.
CREATE OR REPLACE TABLE native_spans AS
WITH docs AS (
    SELECT unnest(resourceSpans) AS rs
    FROM read_json($file, format = 'newline_delimited',
        columns = {'resourceSpans': 'STRUCT(
            resource STRUCT(attributes STRUCT(key VARCHAR, value STRUCT(stringValue VARCHAR,
                intValue VARCHAR, doubleValue DOUBLE, boolValue BOOLEAN))[]),
            scopeSpans STRUCT(spans STRUCT(traceId VARCHAR, spanId VARCHAR,
                parentSpanId VARCHAR, name VARCHAR, kind INTEGER, startTimeUnixNano VARCHAR,
                endTimeUnixNano VARCHAR, attributes STRUCT(key VARCHAR, value STRUCT(
                    stringValue VARCHAR, intValue VARCHAR, doubleValue DOUBLE,
                    boolValue BOOLEAN))[], status STRUCT(code INTEGER))[])[])[]'})
),
scopes AS (SELECT rs.resource.attributes AS res, unnest(rs.scopeSpans) AS ss FROM docs),
spans AS (SELECT res, unnest(ss.spans) AS s FROM scopes),
flat AS (
    SELECT s, res,
        map_from_entries(list_transform(s.attributes, lambda x: {'k': x.key, 'v': coalesce(
            x.value.stringValue, x.value.intValue, x.value.doubleValue::VARCHAR,
            x.value.boolValue::VARCHAR)})) AS a
    FROM spans
)
SELECT
    lower(s.traceId) AS trace_id,
    lower(s.spanId) AS span_id,
    nullif(lower(s.parentSpanId), '') AS parent_span_id,
    list_filter(res, lambda x: x.key = 'service.name')[1].value.stringValue AS service,
    s.name AS name,
    s.kind AS kind,
    make_timestamp((s.startTimeUnixNano::HUGEINT // 1000)::BIGINT) AS started_at,
    (s.endTimeUnixNano::HUGEINT - s.startTimeUnixNano::HUGEINT) / 1e6 AS duration_ms,
    coalesce(a['http.response.status_code'], a['http.status_code'])::INTEGER AS status_code,
    coalesce(s.status.code = 2, false)
        OR coalesce(coalesce(a['http.response.status_code'], a['http.status_code'])::INTEGER >= 500,
                    false) AS is_error,
    coalesce(a['http.request.method'], a['http.method']) AS http_method,
    split_part(coalesce(a['http.route'], a['url.full'], a['http.url'], a['url.path'],
                        a['http.target']), '?', 1) AS http_route,
    CASE WHEN s.kind IN (3, 4)
         THEN coalesce(a['peer.service'], a['server.address'], a['net.peer.name']) END AS peer,
    a['session.id'] AS session_id,
    coalesce(a['enduser.id'], a['user.id']) AS user_id,
    to_json(a) AS attributes
FROM flat;
