-- stage/otlp_jsonl: OpenTelemetry Collector JSON lines (one ExportTraceServiceRequest a line)
-- read by DuckDB straight into stage_spans: the span mapping of connectors/files/spans.py
-- (its docstring table is the contract, SpanColumns.add the reference) written once in SQL.
--
-- Every value whose JSON type matters is read as JSON text (ids, name, kind, attribute keys
-- and values), so DuckDB coerces nothing; a value is used only in the shapes the Python mapping
-- reads the same way, and anything else — a bad id or time, a line that is not a request, an
-- attribute key given twice, str() of a float — raises error(). The statement then fails as a
-- whole and the loader parses the file with the Python path, which reports each bad record
-- with its line.
--
-- Attribute lists go through the vectorised functions of connectors/files/otlp_native.py:
-- _parallax_span_attributes / _parallax_resource_attributes(attributes) return the stored JSON
-- object (.json: personal values pseudonymised; for spans URLs cut, url.query left out) and
-- the value of each key the columns read (."http.route", …) as the JSON text of the value
-- Python's _attrs() gives: "text", 12, 1.5, true, null, [...], {...} — the text tells the type.
-- _parallax_pseudonym(value) is a user id's keyed pseudonym, _parallax_route the route
-- normalisation, _parallax_host urlsplit(url).hostname. Python runs once per distinct value
-- of a batch; raw identifiers exist only in DuckDB's vectors in flight. (DuckDB's stage
-- defines _parallax_route as NULL and routes the distinct staged http_route values after this
-- statement; Spark's lake ingest calls the normaliser here.)
--
-- The macros are temporary (this connection only). Parameters of the INSERT: $file VARCHAR,
-- $compression VARCHAR ('gzip' | 'none'), $max_object_size BIGINT, $source VARCHAR,
-- $load_id VARCHAR.

-- Fail the statement (the file then goes to the Python path). error(NULL) raises nothing, so
-- the message never holds a NULL.
CREATE OR REPLACE TEMP MACRO _otlp_fail(what, value) AS
    error('otlp-native: ' || what || ' ' || coalesce(value::VARCHAR, 'null'));

-- A JSON string literal (DuckDB's minified JSON text) → its text.
CREATE OR REPLACE TEMP MACRO _otlp_lit(j) AS
    CASE WHEN contains(j, '\') THEN json_extract_string(j, '$')
         ELSE substring(j, 2, length(j) - 2) END;

-- Python's truthiness of a value given as JSON text (NULL: absent, None).
CREATE OR REPLACE TEMP MACRO _otlp_truthy(d) AS
    d IS NOT NULL AND d NOT IN ('null', '""', '0', 'false', '[]', '{}', '0.0', '-0.0');

-- Python's `x or y`.
CREATE OR REPLACE TEMP MACRO _otlp_or(x, y) AS CASE WHEN _otlp_truthy(x) THEN x ELSE y END;

-- `v if type(v) is str else _text(v)`: a string as it is ('' stays ''), an int or a bool as
-- str() writes it, None as NULL; str() of a float, list or dict falls back.
CREATE OR REPLACE TEMP MACRO _otlp_str(d) AS
    CASE WHEN d IS NULL OR d = 'null' THEN NULL
         WHEN starts_with(d, '"') THEN _otlp_lit(d)
         WHEN d = 'true' THEN 'True'
         WHEN d = 'false' THEN 'False'
         WHEN regexp_full_match(d, '-?[0-9]+') THEN d
         ELSE _otlp_fail('str() of', d) END;

-- _text(v): as _otlp_str, but '' is None.
CREATE OR REPLACE TEMP MACRO _otlp_text(d) AS nullif(_otlp_str(d), '');

-- A trace / span id in lower-case hex from its JSON text; NULL unless 32 / 16 hex digits, not
-- all zero. Once the shape matched, "all zero" is one literal: comparing with it costs half
-- what ltrim(j, '"0') did (the trace ids of the 20 k-session world: 0.17 s of one core
-- against 0.35 s, measured once on a loaded 2-core machine).
CREATE OR REPLACE TEMP MACRO _otlp_trace_id(j) AS
    CASE WHEN regexp_full_match(j, '"[0-9a-fA-F]{32}"')
              AND j <> '"00000000000000000000000000000000"'
         THEN lower(substring(j, 2, 32)) END;

CREATE OR REPLACE TEMP MACRO _otlp_span_id(j) AS
    CASE WHEN regexp_full_match(j, '"[0-9a-fA-F]{16}"') AND j <> '"0000000000000000"'
         THEN lower(substring(j, 2, 16)) END;

-- Nanoseconds since the epoch, a string or a number: '' and null are 0; digits only, else
-- NULL (which fails the file).
CREATE OR REPLACE TEMP MACRO _otlp_nanos(x) AS
    CASE WHEN x IS NULL OR x = '' THEN 0::HUGEINT
         WHEN regexp_full_match(x, '[0-9]+') THEN TRY_CAST(x AS HUGEINT) END;

-- The stage rows. Python's checks are error()s: any one sends the file to the Python path.
INSERT INTO stage_spans BY NAME
WITH docs AS (
    SELECT resourceSpans AS rss
    FROM read_json($file, format = 'newline_delimited', records = true, auto_detect = false,
                   compression = $compression, maximum_object_size = $max_object_size,
                   columns = {'resourceSpans': 'STRUCT(
                       resource STRUCT(attributes STRUCT(key JSON, value JSON)[]),
                       scopeSpans STRUCT(spans STRUCT(
                           traceId JSON, spanId JSON, parentSpanId JSON, name JSON, kind JSON,
                           startTimeUnixNano VARCHAR, endTimeUnixNano VARCHAR,
                           attributes STRUCT(key JSON, value JSON)[],
                           status STRUCT(code VARCHAR))[])[],
                       instrumentationLibrarySpans JSON)[]'})
),
resources AS (
    SELECT unnest(CASE WHEN rss IS NULL THEN _otlp_fail('a line without', 'resourceSpans')
                       ELSE rss END) AS rs
    FROM docs
),
resource_attributes AS (
    SELECT _parallax_resource_attributes(rs.resource.attributes) AS r,
           CASE WHEN rs IS NULL THEN _otlp_fail('a null resourceSpans', 'element')
                WHEN rs.scopeSpans IS NULL AND rs.instrumentationLibrarySpans IS NOT NULL
                THEN _otlp_fail('legacy key', 'instrumentationLibrarySpans')
                ELSE rs.scopeSpans END AS scopes
    FROM resources
),
resource_values AS (
    SELECT _otlp_text(r."service.name") AS service,
           _otlp_text(r."session.id") AS res_session,
           -- _first(): the first of enduser.id, user.id that is neither None nor ''
           _parallax_pseudonym(CASE WHEN r."enduser.id" NOT IN ('null', '""') THEN r."enduser.id"
                                    WHEN r."user.id" NOT IN ('null', '""') THEN r."user.id" END)
               AS res_user,
           r.json AS resource,
           unnest(scopes) AS ss
    FROM resource_attributes
),
spans AS (
    SELECT service, res_session, res_user, resource,
           unnest(CASE WHEN ss IS NULL THEN _otlp_fail('a null scopeSpans', 'element')
                       ELSE ss.spans END) AS s
    FROM resource_values
),
span_fields AS (  -- JSON text as VARCHAR: compared and cut as text, never cast back to JSON
    SELECT service, res_session, res_user, resource, s IS NULL AS null_span,
           s.traceId::VARCHAR AS trace_j, s.spanId::VARCHAR AS span_j,
           s.parentSpanId::VARCHAR AS parent_j, s.name::VARCHAR AS name_j,
           s.kind::VARCHAR AS kind_j, s.startTimeUnixNano AS start_text,
           s.endTimeUnixNano AS end_text, s.status.code AS status_code_text,
           _parallax_span_attributes(s.attributes) AS a
    FROM spans
),
decoded AS (
    SELECT *,
           _otlp_trace_id(trace_j) AS trace_id,
           _otlp_span_id(span_j) AS span_id,
           _otlp_span_id(parent_j) AS parent_id,
           _otlp_nanos(start_text) AS start_ns,
           _otlp_nanos(end_text) AS end_ns,
           -- _KIND.get(kind, 'unspecified'): ints 0-5 (True is 1, False 0) and the enum names
           CASE WHEN kind_j IS NULL THEN 'unspecified'
                WHEN kind_j IN ('0', '"SPAN_KIND_UNSPECIFIED"', 'false') THEN 'unspecified'
                WHEN kind_j IN ('1', '"SPAN_KIND_INTERNAL"', 'true') THEN 'internal'
                WHEN kind_j IN ('2', '"SPAN_KIND_SERVER"') THEN 'server'
                WHEN kind_j IN ('3', '"SPAN_KIND_CLIENT"') THEN 'client'
                WHEN kind_j IN ('4', '"SPAN_KIND_PRODUCER"') THEN 'producer'
                WHEN kind_j IN ('5', '"SPAN_KIND_CONSUMER"') THEN 'consumer'
                WHEN regexp_full_match(kind_j, '-?[0-9]+') OR starts_with(kind_j, '"')
                THEN 'unspecified'
                ELSE _otlp_fail('kind', kind_j) END AS kind,
           -- the semantic-convention keys, first present (truthy) wins
           _otlp_or(a."http.response.status_code", a."http.status_code") AS status_d,
           _otlp_text(_otlp_or(a."http.route", _otlp_or(a."url.full", _otlp_or(a."http.url",
               _otlp_or(a."url.path", _otlp_or(a."http.target", a."http.path"))))))
               AS route_text,
           _otlp_or(a."enduser.id", a."user.id") AS user_d,
           a."session.id" AS session_d,
           _otlp_or(a."http.request.method", a."http.method") AS method_d,
           _otlp_or(a."peer.service", _otlp_or(a."server.address", a."net.peer.name")) AS peer_d,
           _otlp_or(a."url.full", a."http.url") AS url_d,
           _otlp_truthy(a."error.type") AS error_type
    FROM span_fields
),
rows AS (
    SELECT *,
           -- `status if int and 0 <= status < 1000 else _int(status)`
           CASE WHEN status_d IS NULL OR status_d = 'null' THEN NULL
                WHEN regexp_full_match(status_d, '-?[0-9]+|"[0-9]+"')
                THEN CASE WHEN TRY_CAST(trim(status_d, '"') AS HUGEINT) BETWEEN 0 AND 999
                          THEN CAST(trim(status_d, '"') AS INTEGER) END
                -- int() of text without a digit fails: None (text with other digits falls back)
                WHEN starts_with(status_d, '"') AND NOT regexp_matches(status_d, '[0-9\\]')
                     AND strlen(status_d) = length(status_d) THEN NULL
                ELSE _otlp_fail('HTTP status', status_d) END AS status_code,
           -- query string and fragment dropped: they carry tokens and e-mail addresses
           CASE WHEN contains(route_text, '?') OR contains(route_text, '#')
                THEN split_part(split_part(route_text, '#', 1), '?', 1)
                ELSE route_text END AS http_route
    FROM decoded
)
SELECT
    CASE WHEN null_span THEN _otlp_fail('a null', 'span')
         WHEN trace_id IS NULL THEN _otlp_fail('invalid traceId', trace_j)
         WHEN span_id IS NULL THEN _otlp_fail('invalid spanId', span_j)
         WHEN start_ns IS NULL OR start_ns = 0 OR start_ns >= 9223372036854775808
         THEN _otlp_fail('startTimeUnixNano', start_text)
         WHEN end_ns IS NULL OR end_ns >= 9223372036854775808
              OR (end_ns <> 0 AND end_ns < start_ns)
         THEN _otlp_fail('endTimeUnixNano', end_text)
         -- status.code in (2, "2", "STATUS_CODE_ERROR", "ERROR"); a float or a list falls back
         WHEN status_code_text IS NOT NULL
              AND NOT regexp_full_match(status_code_text, '-?[0-9]+|[A-Za-z_]*')
         THEN _otlp_fail('status code', status_code_text)
         ELSE trace_id END AS trace_id,
    span_id,
    CASE WHEN parent_id IS NOT NULL THEN parent_id
         -- absent, empty and all zero: a root span
         WHEN parent_j IS NULL OR (starts_with(parent_j, '"') AND ltrim(parent_j, '"0') = '')
         THEN NULL
         ELSE _otlp_fail('invalid parentSpanId', parent_j) END AS parent_span_id,
    service,
    CASE WHEN name_j IS NULL THEN NULL
         WHEN starts_with(name_j, '"') THEN nullif(_otlp_lit(name_j), '')
         ELSE _otlp_text(name_j) END AS name,
    kind,
    TIMESTAMPTZ '1970-01-01 00:00:00+00'
        + to_microseconds(CAST(start_ns // 1000 AS BIGINT)) AS started_at,
    CASE WHEN end_ns <> 0 THEN CAST(end_ns - start_ns AS DOUBLE) / 1e6 END AS duration_ms,
    coalesce(status_code_text IN ('2', 'STATUS_CODE_ERROR', 'ERROR'), false)
        OR coalesce(status_code >= 500, false) OR error_type AS is_error,
    status_code,
    _otlp_str(method_d) AS http_method,
    http_route,
    _parallax_route(http_route) AS route,
    -- CLIENT / PRODUCER: peer.service, server.address, net.peer.name, else the URL's host
    CASE WHEN kind NOT IN ('client', 'producer') THEN NULL
         WHEN _otlp_truthy(peer_d) THEN _otlp_str(peer_d)
         WHEN _otlp_truthy(url_d) THEN _parallax_host(_otlp_str(url_d))
         END AS peer,
    coalesce(CASE WHEN starts_with(session_d, '"') THEN nullif(_otlp_lit(session_d), '')
                  ELSE _otlp_str(session_d) END, res_session) AS session_id,
    CASE WHEN _otlp_truthy(user_d) THEN _parallax_pseudonym(user_d)
         ELSE res_user END AS user_id,
    a.json AS attributes,
    resource,
    $source AS source,
    $load_id AS load_id
FROM rows;
