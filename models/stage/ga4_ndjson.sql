-- stage/ga4_ndjson: a GA4 BigQuery export (newline-delimited JSON) read by DuckDB straight
-- into stage_events, stage_page_views and stage_sessions: the mapping of
-- connectors/files/ga4.py (its docstring is the contract, _Ga4.add the reference) written
-- once in SQL.
--
-- Every value whose JSON type matters is read as JSON text (event_name, the ids, param keys
-- and string values, the nested objects), so DuckDB coerces nothing; values Python reads the
-- same whether written as text or as a number (int_value, double_value, event_timestamp, the
-- batch fields) are read as VARCHAR. A param value is carried as the JSON text of the value
-- ga4_fields.unnest() returns ("s" str, 12 int, 1.5 float, null; a string_value holding
-- another JSON type is kept as such, as Python keeps it), which is also what the stored
-- params hold; keys are compared as the JSON text DuckDB writes ('"page_location"'). Python's
-- checks are error()s — a line it rejects (no event_name, a timestamp that is not µs, an
-- int_value that is not an integer, …) or a value in a shape this SQL does not decode exactly
-- (an id padded with spaces or written as a double, a number as text other than plainly, …)
-- fails the statement, and the loader parses the whole file with the Python path, which
-- reports each reject with its line.
--
-- Python does what SQL cannot, on distinct values only: vectorised functions registered by
-- connectors/files/ga4_native.py — _parallax_pseudonym (keyed HMAC of an identifier: the
-- user_pseudo_id, user_id and personal params), _parallax_route (the route normalisation of
-- page_location) — map each batch's distinct values, with a cache across batches; and
-- _parallax_event_key hashes each event's identity exactly as analytics_rows.event_key does.
-- Raw identifiers exist only in DuckDB's vectors in flight: _ga4_rows, the one table written
-- before the stage tables, holds pseudonyms only.
--
-- The macros are temporary (this connection only). Parameters: $file VARCHAR, $compression
-- VARCHAR ('gzip' | 'none'), $max_object_size BIGINT, $pii VARCHAR[] (the param keys whose
-- values are pseudonymised, as JSON text: '"email"'), $session_param, $trace_param VARCHAR
-- and $load_params VARCHAR[] (param names, tried in order; at most 4), $source VARCHAR,
-- $load_id VARCHAR.

CREATE OR REPLACE TEMP MACRO _ga4_fail(what) AS error('ga4-native: ' || what);

-- A JSON string literal (DuckDB's minified JSON text) → its text.
CREATE OR REPLACE TEMP MACRO _ga4_lit(j) AS json_extract_string(j, '$');

-- Text that Python's str.strip() would change: read differently here, so it falls back.
CREATE OR REPLACE TEMP MACRO _ga4_padded(s) AS regexp_matches(s,
    '^[\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}'
    || '\x{205f}\x{3000}]|[\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}'
    || '\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]$');

-- int(text), where int() and DuckDB agree: canonical digits only ('007', ' 7', '+7' fall back).
CREATE OR REPLACE TEMP MACRO _ga4_int_text(s, what) AS
    CASE WHEN CAST(TRY_CAST(s AS BIGINT) AS VARCHAR) = s THEN CAST(s AS BIGINT)
         ELSE _ga4_fail(what || ' is not an integer: ' || s) END;

-- float(text), where float() and DuckDB agree (JSON's number syntax, correctly rounded by
-- both); '' is None (to_float); anything else falls back.
CREATE OR REPLACE TEMP MACRO _ga4_num_text(s, what) AS
    CASE WHEN s = '' THEN NULL
         WHEN NOT regexp_full_match(s, '-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?')
              OR isinf(CAST(s AS DOUBLE))
         THEN _ga4_fail(what || ' is not a plain number: ' || s)
         ELSE CAST(s AS DOUBLE) END;

-- Python's truthiness of a JSON value.
CREATE OR REPLACE TEMP MACRO _ga4_truthy(v) AS
    v IS NOT NULL AND v NOT IN ('null', '""', 'false', '[]', '{}')
    AND coalesce(TRY_CAST(v AS DOUBLE) <> 0, true);

-- Params [{key, value{string_value|int_value|double_value|float_value}}] as unnest() reads
-- them: their keys as JSON text, and their values as JSON text (an int_value as int(), a
-- double_value or float_value as float(), a string_value as it is written).
CREATE OR REPLACE TEMP MACRO _ga4_keys(items, what) AS list_transform(items, lambda x:
    CASE WHEN starts_with(CAST(x.key AS VARCHAR), '"') THEN CAST(x.key AS VARCHAR)
         ELSE _ga4_fail(what || ' without a key') END);

CREATE OR REPLACE TEMP MACRO _ga4_values(items, what) AS list_transform(items, lambda x:
    CASE WHEN x.value.string_value IS NOT NULL THEN CAST(x.value.string_value AS VARCHAR)
         WHEN x.value.int_value IS NOT NULL
         THEN CASE WHEN regexp_full_match(x.value.int_value, '0|-?[1-9][0-9]{0,17}')
                   THEN x.value.int_value
                   ELSE _ga4_fail(what || ' int_value is not an integer: ' || x.value.int_value)
              END
         ELSE coalesce(CAST(_ga4_num_text(coalesce(x.value.double_value, x.value.float_value),
                                          what || ' double_value') AS VARCHAR), 'null')
    END);

-- A key given twice: Python keeps the last value at the first place; fall back.
CREATE OR REPLACE TEMP MACRO _ga4_unique(ks) AS len(ks) < 2 OR list_unique(ks) = len(ks);

-- params.get(key) → the value's JSON text (NULL if absent); key as JSON text.
CREATE OR REPLACE TEMP MACRO _ga4_get(ks, vs, key) AS vs[list_position(ks, key)];

-- id_text(value): a string stripped (padding falls back), an int as digits, '' / null / a
-- bool None; a float, list or dict falls back.
CREATE OR REPLACE TEMP MACRO _ga4_id(v, what) AS
    CASE WHEN v IS NULL OR v IN ('null', 'true', 'false', '""') THEN NULL
         WHEN starts_with(v, '"') THEN CASE WHEN _ga4_padded(_ga4_lit(v))
                                            THEN _ga4_fail(what || ' is padded')
                                            ELSE _ga4_lit(v) END
         WHEN regexp_full_match(v, '-?[0-9]{1,30}') THEN CAST(CAST(v AS HUGEINT) AS VARCHAR)
         ELSE _ga4_fail(what || ' is not an id: ' || v) END;

-- What the pseudonymiser is handed for a value (it strips and checks for blanks itself):
-- str(value) of a string or an int; None stays NULL; a float, bool, list or dict falls back.
CREATE OR REPLACE TEMP MACRO _ga4_pii_text(v, what) AS
    CASE WHEN v IS NULL OR v = 'null' THEN NULL
         WHEN starts_with(v, '"') THEN _ga4_lit(v)
         WHEN regexp_full_match(v, '-?[0-9]{1,30}') THEN CAST(CAST(v AS HUGEINT) AS VARCHAR)
         ELSE _ga4_fail(what || ' is not an identifier: ' || v) END;

-- id_text() of a top-level id, as handed to the pseudonymiser: as _ga4_pii_text, a bool None.
CREATE OR REPLACE TEMP MACRO _ga4_id_text(v, what) AS
    CASE WHEN v IN ('true', 'false') THEN NULL ELSE _ga4_pii_text(v, what) END;

-- A pseudonym as JSON (None and blank text are null).
CREATE OR REPLACE TEMP MACRO _ga4_pseudonym_json(text) AS
    coalesce('"' || _parallax_pseudonym(text) || '"', 'null');

-- clean(value): text stripped, '', '(not set)', '(not provided)' and None are None; an int
-- as digits; anything else falls back.
CREATE OR REPLACE TEMP MACRO _ga4_clean(v, what) AS
    CASE WHEN v IS NULL OR v = 'null' THEN NULL
         WHEN starts_with(v, '"') THEN
              CASE WHEN _ga4_padded(_ga4_lit(v)) THEN _ga4_fail(what || ' is padded')
                   WHEN _ga4_lit(v) IN ('', '(not set)', '(not provided)') THEN NULL
                   ELSE _ga4_lit(v) END
         WHEN regexp_full_match(v, '-?[0-9]{1,30}') THEN CAST(CAST(v AS HUGEINT) AS VARCHAR)
         ELSE _ga4_fail(what || ' is not text: ' || v) END;

-- clean() of a JSON value j (s: its text, as json_extract_string gives it).
CREATE OR REPLACE TEMP MACRO _ga4_clean_json(j, s, what) AS
    CASE WHEN j IS NULL OR j = 'null' THEN NULL
         WHEN starts_with(j, '"') THEN
              CASE WHEN _ga4_padded(s) THEN _ga4_fail(what || ' is padded')
                   WHEN s IN ('', '(not set)', '(not provided)') THEN NULL
                   ELSE s END
         WHEN regexp_full_match(j, '-?[0-9]{1,30}') THEN CAST(CAST(j AS HUGEINT) AS VARCHAR)
         ELSE _ga4_fail(what || ' is not text: ' || j) END;

-- to_float(value): numbers and number text; null, '' and booleans are None; other text, a
-- list or a dict falls back (lenient: a list or a dict is None).
CREATE OR REPLACE TEMP MACRO _ga4_num(v, what, lenient) AS
    CASE WHEN v IS NULL OR v IN ('null', 'true', 'false') THEN NULL
         WHEN starts_with(v, '"') THEN _ga4_num_text(_ga4_lit(v), what)
         WHEN lenient AND (starts_with(v, '[') OR starts_with(v, '{')) THEN NULL
         ELSE _ga4_num_text(v, what) END;

-- opt_int(value): None and '' are None; an int, or int() of canonical digits; else falls back.
CREATE OR REPLACE TEMP MACRO _ga4_opt_int(v, what) AS
    CASE WHEN v IS NULL OR v IN ('null', '""') THEN NULL
         WHEN starts_with(v, '"') THEN _ga4_int_text(_ga4_lit(v), what)
         ELSE _ga4_int_text(v, what) END;

-- A top-level batch field (VARCHAR: text and numbers alike), else the param of that name.
CREATE OR REPLACE TEMP MACRO _ga4_batch(top, ks, vs, key) AS
    CASE WHEN top IS NULL THEN _ga4_opt_int(_ga4_get(ks, vs, '"' || key || '"'), key)
         WHEN top = '' THEN NULL
         ELSE _ga4_int_text(top, key) END;

-- strip_url() of a string: without query string and fragment, '' is None.
CREATE OR REPLACE TEMP MACRO _ga4_strip_url(u) AS
    nullif(split_part(split_part(u, '#', 1), '?', 1), '');

-- Text as a JSON string, null for NULL.
CREATE OR REPLACE TEMP MACRO _ga4_json(s) AS coalesce(CAST(to_json(s) AS VARCHAR), 'null');

-- Params as a JSON object: as read (the event key's material), or as stored — page URLs
-- stripped, personal values pseudonymised (stored = true; url, referrer as JSON text).
CREATE OR REPLACE TEMP MACRO _ga4_params_json(ks, vs, stored, url, referrer, pii) AS
    '{' || array_to_string(list_transform(ks, lambda k, i: k || ':' ||
        CASE WHEN NOT stored THEN vs[i]
             WHEN k = '"page_location"' THEN url
             WHEN k = '"page_referrer"' THEN referrer
             WHEN vs[i] <> 'null' AND list_contains(pii, k)
             THEN _ga4_pseudonym_json(_ga4_pii_text(vs[i], 'param ' || k))
             ELSE vs[i] END), ',') || '}';

-- User properties as stored: personal values pseudonymised.
CREATE OR REPLACE TEMP MACRO _ga4_props_json(ks, vs, pii) AS
    '{' || array_to_string(list_transform(ks, lambda k, i: k || ':' ||
        CASE WHEN vs[i] <> 'null' AND list_contains(pii, k)
             THEN _ga4_pseudonym_json(_ga4_pii_text(vs[i], 'user property ' || k))
             ELSE vs[i] END), ',') || '}';

-- The trace id of a W3C traceparent (version-traceid-parentid-flags).
CREATE OR REPLACE TEMP MACRO _ga4_traceparent(tp) AS
    CASE WHEN len(string_split(tp, '-')) = 4 THEN string_split(tp, '-')[2] END;

-- One row per event, in file order, every staged column computed (pseudonyms only).
CREATE OR REPLACE TEMP TABLE _ga4_rows AS
WITH raw AS (
    SELECT *
    FROM read_json($file, format = 'newline_delimited', records = true, auto_detect = false,
        compression = $compression, maximum_object_size = $max_object_size,
        columns = {
            'event_name': 'JSON', 'event_timestamp': 'VARCHAR',
            'event_params': 'STRUCT(key JSON, value STRUCT(string_value JSON,
                int_value VARCHAR, float_value VARCHAR, double_value VARCHAR))[]',
            'user_id': 'JSON', 'user_pseudo_id': 'JSON',
            'user_properties': 'STRUCT(key JSON, value STRUCT(string_value JSON,
                int_value VARCHAR, float_value VARCHAR, double_value VARCHAR))[]',
            'device': 'JSON', 'geo': 'JSON', 'platform': 'JSON', 'traffic_source': 'JSON',
            'event_value_in_usd': 'VARCHAR', 'ecommerce': 'JSON', 'items': 'JSON',
            'batch_event_index': 'VARCHAR', 'batch_page_id': 'VARCHAR',
            'batch_ordering_id': 'VARCHAR'
        })
),
-- the fields as the Python path reads them; its rejects fail here
fields AS (
    SELECT
        CASE WHEN starts_with(CAST(event_name AS VARCHAR), '"')
                  AND CAST(event_name AS VARCHAR) <> '""'
             THEN _ga4_lit(CAST(event_name AS VARCHAR))
             WHEN event_name IS NULL OR CAST(event_name AS VARCHAR) = '""'
             THEN _ga4_fail('missing event_name')
             ELSE _ga4_fail('event_name is not text') END AS name,
        CASE WHEN event_timestamp IS NULL THEN _ga4_fail('missing event_timestamp')
             ELSE _ga4_int_text(event_timestamp, 'event_timestamp') END AS ts,
        coalesce(_ga4_keys(event_params, 'event_params'), []) AS ks,
        coalesce(_ga4_values(event_params, 'event_params'), []) AS vs,
        _ga4_id_text(CAST(user_pseudo_id AS VARCHAR), 'user_pseudo_id') AS upid_text,
        _ga4_id_text(CAST(user_id AS VARCHAR), 'user_id') AS uid_text,
        batch_event_index, batch_page_id, batch_ordering_id,
        coalesce(starts_with(CAST(device AS VARCHAR), '{')
                 AND CAST(device AS VARCHAR) <> '{}', false) AS has_device,
        -- dict_at(): a device or geo that is not an object is {}
        CASE WHEN starts_with(CAST(device AS VARCHAR), '{')
             THEN CAST(json_extract(device, ['$.category', '$.operating_system',
                                             '$.web_info', '$.web_info.browser']) AS VARCHAR[])
        END AS dev_j,
        CASE WHEN starts_with(CAST(device AS VARCHAR), '{')
             THEN json_extract_string(device, ['$.category', '$.operating_system',
                                               '$.web_info.browser'])
        END AS dev_s,
        CASE WHEN starts_with(CAST(geo AS VARCHAR), '{')
             THEN CAST(json_extract(geo, '$.country') AS VARCHAR) END AS country_j,
        CASE WHEN starts_with(CAST(geo AS VARCHAR), '{')
             THEN json_extract_string(geo, '$.country') END AS country_s,
        CASE WHEN _ga4_truthy(CAST(platform AS VARCHAR)) THEN CAST(platform AS VARCHAR)
        END AS platform,
        CASE WHEN starts_with(CAST(traffic_source AS VARCHAR), '{')
             THEN CAST(traffic_source AS VARCHAR) END AS traffic_source,
        -- VARCHAR: a JSON string and a number alike, as float() reads them
        CASE WHEN event_value_in_usd IS NULL OR event_value_in_usd IN ('true', 'false')
                  OR starts_with(event_value_in_usd, '[') OR starts_with(event_value_in_usd, '{')
             THEN NULL
             ELSE _ga4_num_text(event_value_in_usd, 'event_value_in_usd') END AS usd,
        CASE WHEN len(user_properties) > 0
             THEN _ga4_keys(user_properties, 'user_properties') END AS uks,
        CASE WHEN len(user_properties) > 0
             THEN _ga4_values(user_properties, 'user_properties') END AS uvs,
        CASE WHEN starts_with(CAST(items AS VARCHAR), '[') AND CAST(items AS VARCHAR) <> '[]'
             THEN CAST(items AS VARCHAR) END AS items,
        CASE WHEN starts_with(CAST(ecommerce AS VARCHAR), '{') THEN ecommerce END AS ecommerce
    FROM raw
),
-- checks, pseudonyms, and the params each event's rows are made of (JSON text)
checked AS (
    SELECT
        name,
        CASE WHEN ts BETWEEN 100000000000000 AND 4102444799999999 THEN ts
             ELSE _ga4_fail('event_timestamp ' || ts || ' is not microseconds since 1970')
        END AS ts,
        CASE WHEN _ga4_unique(ks) THEN ks
             ELSE _ga4_fail('an event_params key given twice') END AS ks,
        vs,
        CASE WHEN uks IS NULL OR _ga4_unique(uks) THEN uks
             ELSE _ga4_fail('a user_properties key given twice') END AS uks,
        uvs,
        _parallax_pseudonym(upid_text) AS upid,
        _parallax_pseudonym(uid_text) AS uid,
        _ga4_batch(batch_event_index, ks, vs, 'batch_event_index') AS b0,
        _ga4_batch(batch_page_id, ks, vs, 'batch_page_id') AS b1,
        _ga4_batch(batch_ordering_id, ks, vs, 'batch_ordering_id') AS b2,
        has_device,
        _ga4_clean_json(dev_j[1], dev_s[1], 'device.category') AS category,
        _ga4_clean_json(dev_j[2], dev_s[2], 'device.operating_system') AS os,
        CASE WHEN starts_with(dev_j[3], '{')
             THEN _ga4_clean_json(dev_j[4], dev_s[3], 'device.web_info.browser')
        END AS browser,
        _ga4_clean_json(country_j, country_s, 'geo.country') AS country,
        platform, traffic_source, usd, items,
        _ga4_get(ks, vs, '"page_location"') AS location_v,
        _ga4_get(ks, vs, '"page_referrer"') AS referrer_v,
        _ga4_get(ks, vs, '"ga_session_id"') AS ga_session_v,
        _ga4_get(ks, vs, CAST(to_json($session_param) AS VARCHAR)) AS shared_v,
        -- purchases only: the Python path reads these for a purchase alone
        CASE WHEN name = 'purchase'
             THEN _ga4_num(CAST(json_extract(ecommerce, '$.purchase_revenue') AS VARCHAR),
                           'ecommerce.purchase_revenue', false)
        END AS ecom_revenue,
        CASE WHEN name = 'purchase' THEN _ga4_get(ks, vs, '"value"') END AS value_v,
        CASE WHEN name = 'purchase' THEN _ga4_get(ks, vs, '"currency"') END AS currency_v,
        CASE WHEN name = 'purchase' THEN
            CASE WHEN _ga4_truthy(CAST(json_extract(ecommerce, '$.transaction_id') AS VARCHAR))
                 THEN CAST(json_extract(ecommerce, '$.transaction_id') AS VARCHAR)
                 ELSE _ga4_get(ks, vs, '"transaction_id"') END
        END AS transaction_v,
        -- page views only (the Python path reads these for a page view in a session)
        CASE WHEN name = 'page_view'
             THEN _ga4_get(ks, vs, CAST(to_json($trace_param) AS VARCHAR)) END AS trace_v,
        CASE WHEN name = 'page_view' THEN _ga4_get(ks, vs, '"traceparent"') END AS traceparent_v,
        CASE WHEN name = 'page_view' THEN coalesce(
            _ga4_num(_ga4_get(ks, vs, CAST(to_json($load_params[1]) AS VARCHAR)), 'load param', true),
            _ga4_num(_ga4_get(ks, vs, CAST(to_json($load_params[2]) AS VARCHAR)), 'load param', true),
            _ga4_num(_ga4_get(ks, vs, CAST(to_json($load_params[3]) AS VARCHAR)), 'load param', true),
            _ga4_num(_ga4_get(ks, vs, CAST(to_json($load_params[4]) AS VARCHAR)), 'load param', true))
        END AS load_ms
    FROM fields
),
event AS (
    SELECT
        * EXCLUDE (location_v, referrer_v, ga_session_v, shared_v, value_v, currency_v,
                   transaction_v, trace_v, traceparent_v),
        CASE WHEN starts_with(location_v, '"') THEN nullif(_ga4_lit(location_v), '') END
            AS location,
        _ga4_strip_url(_ga4_id(referrer_v, 'page_referrer')) AS referrer,
        _ga4_id(ga_session_v, 'ga_session_id') AS ga_sid,
        _ga4_id(shared_v, 'session param') AS shared,
        CASE WHEN name = 'purchase' THEN coalesce(ecom_revenue,
                                                  _ga4_num(value_v, 'purchase value', false))
        END AS revenue,
        _ga4_clean(currency_v, 'currency') AS currency,
        _ga4_clean(transaction_v, 'transaction_id') AS transaction_id,
        coalesce(_ga4_id(trace_v, 'trace param'),
                 _ga4_traceparent(_ga4_id(traceparent_v, 'traceparent'))) AS trace_text
    FROM checked
),
sessioned AS (
    SELECT
        *,
        _ga4_strip_url(location) AS url,
        _parallax_route(location) AS route,
        CASE WHEN upid IS NOT NULL AND ga_sid IS NOT NULL THEN upid || '.' || ga_sid END
            AS composite,
        _parallax_event_key(upid, ts, name, b0, b1, b2,
            CASE WHEN upid IS NULL OR (b0 IS NULL AND b1 IS NULL AND b2 IS NULL)
                 THEN _ga4_params_json(ks, vs, false, NULL::VARCHAR, NULL::VARCHAR,
                                       []::VARCHAR[]) END) AS event_key
    FROM event
)
SELECT
    event_key, coalesce(shared, composite) AS session_id, ts, name, url, route, referrer,
    uid, category, country, name = 'purchase' AS converted, load_ms, trace_text,
    concat(
        '{"ga4_session":', _ga4_json(composite),
        ',"user_pseudo_id":', coalesce('"' || upid || '"', 'null'),
        ',"user_id":"' || uid || '"',
        ',"params":', _ga4_params_json(ks, vs, true, _ga4_json(url), _ga4_json(referrer),
                                          $pii),
        ',"batch_event_index":' || b0,
        ',"batch_page_id":' || b1,
        ',"batch_ordering_id":' || b2,
        ',"platform":' || platform,
        CASE WHEN has_device
             THEN ',"os":' || _ga4_json(os) || ',"browser":' || _ga4_json(browser) END,
        ',"traffic_source":' || traffic_source,
        ',"event_value_in_usd":' || CAST(usd AS VARCHAR),
        ',"user_properties":' || _ga4_props_json(uks, uvs, $pii),
        ',"items":' || items,
        CASE WHEN name = 'purchase'
             THEN ',"revenue":' || coalesce(CAST(revenue AS VARCHAR), 'null')
                  || ',"currency":' || _ga4_json(currency)
                  || ',"transaction_id":' || _ga4_json(transaction_id) END,
        '}') AS properties
FROM sessioned;

CREATE TABLE stage_events AS SELECT * FROM events LIMIT 0;

INSERT INTO stage_events BY NAME
SELECT event_key, session_id, make_timestamptz(ts) AS occurred_at, name, url,
       route, properties, $source AS source, $load_id AS load_id
FROM _ga4_rows;

CREATE TABLE stage_page_views AS SELECT * FROM page_views LIMIT 0;

INSERT INTO stage_page_views BY NAME
SELECT event_key, session_id, NULL::INTEGER AS seq,
       make_timestamptz(ts) AS viewed_at, url, route, referrer,
       CASE WHEN load_ms >= 0 THEN load_ms END AS load_ms,
       CASE WHEN trace_text IS NULL OR trace_text = '' THEN NULL
            WHEN regexp_matches(trace_text, '[^\x00-\x7f]')
            THEN _ga4_fail('a trace id that is not ASCII')
            ELSE lower(trace_text) END AS trace_id,
       $source AS source, $load_id AS load_id
FROM _ga4_rows
WHERE name = 'page_view' AND session_id IS NOT NULL;

-- One row per session of the file: its first and last event, the first user, device and
-- country its events name (file order), converted by a purchase; the load SQL merges them
-- as it merges the Python path's chunks.
CREATE TABLE stage_sessions AS SELECT * FROM sessions LIMIT 0;

INSERT INTO stage_sessions BY NAME
SELECT session_id,
       arg_min(uid, rowid) FILTER (WHERE uid IS NOT NULL) AS user_id,
       make_timestamptz(min(ts)) AS started_at,
       make_timestamptz(max(ts)) AS ended_at,
       arg_min(category, rowid) FILTER (WHERE category IS NOT NULL) AS device,
       arg_min(country, rowid) FILTER (WHERE country IS NOT NULL) AS country,
       NULL::VARCHAR AS segment, bool_or(converted) AS converted, 0.0::DOUBLE AS revenue,
       $source AS source, $load_id AS load_id
FROM _ga4_rows
WHERE session_id IS NOT NULL
GROUP BY session_id;

DROP TABLE _ga4_rows;
