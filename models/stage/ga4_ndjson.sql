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
-- reports each reject with its line. One difference stays: DuckDB's JSON reader also takes
-- NaN, Infinity, numbers beyond a double and trailing commas, which orjson refuses; such a
-- value in a field this SQL reads or stores falls back (_ga4_standard, the number checks),
-- but one in a field nobody reads (user_ltv, privacy_info, …) is not seen, and the event
-- loads where the Python path would reject its line. BigQuery never writes them.
--
-- Python does what SQL cannot, on distinct values only: vectorised functions registered by
-- connectors/files/ga4_native.py — _parallax_pseudonym (keyed HMAC of an identifier: the
-- user_pseudo_id, user_id and personal params), _parallax_route (the route normalisation of
-- page_location) — map each batch's distinct values (the functions cache across batches);
-- and _parallax_event_key hashes each event's identity exactly as analytics_rows.event_key
-- does. Raw identifiers exist only in DuckDB's vectors in flight: no table, not even a
-- temporary one, ever holds one.
--
-- stage_events is written first, with what the page views and sessions are made of in extra
-- columns (_referrer, _uid, …), so the file is read and mapped once; its properties are JSON
-- text (VARCHAR), checked as JSON when the load SQL stores them. The extra columns are
-- dropped before the load SQL merges the stage tables.
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
    CASE WHEN regexp_full_match(s, '0|-?[1-9][0-9]{0,17}') THEN CAST(s AS BIGINT)
         ELSE _ga4_fail(what || ' is not an integer: ' || s) END;

-- float(text), where float() and DuckDB agree (JSON's number syntax, correctly rounded by
-- both); '' is None (to_float); anything else falls back.
CREATE OR REPLACE TEMP MACRO _ga4_num_text(s, what) AS
    CASE WHEN s = '' THEN NULL
         WHEN NOT regexp_full_match(s, '-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?')
              OR isinf(TRY_CAST(s AS DOUBLE))
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
    CASE WHEN starts_with(CAST(x.value.string_value AS VARCHAR), '"')
         THEN CAST(x.value.string_value AS VARCHAR)
         WHEN x.value.string_value IS NOT NULL
         THEN _ga4_standard(CAST(x.value.string_value AS VARCHAR), what || ' string_value')
         WHEN x.value.int_value IS NOT NULL
         THEN CASE WHEN regexp_full_match(x.value.int_value, '0|-?[1-9][0-9]{0,17}')
                   THEN x.value.int_value
                   ELSE _ga4_fail(what || ' int_value is not an integer: ' || x.value.int_value)
              END
         ELSE coalesce(CAST(_ga4_num_text(coalesce(x.value.double_value, x.value.float_value),
                                          what || ' double_value') AS VARCHAR), 'null')
    END);

-- JSON text as DuckDB read it, kept only if orjson reads it too: DuckDB's reader also takes
-- NaN, Infinity and numbers beyond a double (written back as such), which orjson refuses.
CREATE OR REPLACE TEMP MACRO _ga4_standard(j, what) AS
    CASE WHEN contains(j, 'NaN') OR contains(j, 'Infinity')
              OR regexp_matches(j, '[0-9][eE][+]?[0-9]{3}|[0-9]{300}')
         THEN _ga4_fail(what || ' may not be standard JSON: ' || left(j, 100))
         ELSE j END;

-- A key given twice: Python keeps the last value at the first place; fall back.
CREATE OR REPLACE TEMP MACRO _ga4_unique(ks) AS len(ks) < 2 OR list_unique(ks) = len(ks);

-- params.get(key) → the value's JSON text (NULL if absent); key as JSON text.
CREATE OR REPLACE TEMP MACRO _ga4_get(ks, vs, key) AS vs[list_position(ks, key)];

-- The value macros below take a JSON value as its text v, and s: its string when it is one
-- (_ga4_s(v), NULL otherwise), each computed once per row.
CREATE OR REPLACE TEMP MACRO _ga4_s(v) AS
    CASE WHEN starts_with(v, '"') THEN json_extract_string(v, '$') END;

-- id_text(value): a string stripped (padding falls back), an int as digits, '' / null / a
-- bool None; a float, list or dict falls back.
CREATE OR REPLACE TEMP MACRO _ga4_id(v, s, what) AS
    CASE WHEN s IS NOT NULL THEN CASE WHEN s = '' THEN NULL
                                      WHEN _ga4_padded(s) THEN _ga4_fail(what || ' is padded')
                                      ELSE s END
         WHEN v IS NULL OR v IN ('null', 'true', 'false') THEN NULL
         WHEN regexp_full_match(v, '0|-?[1-9][0-9]{0,29}') THEN v
         ELSE _ga4_fail(what || ' is not an id: ' || v) END;

-- What the pseudonymiser is handed for a value (it strips and checks for blanks itself):
-- str(value) of a string or an int; None stays NULL; a float, bool, list or dict falls back.
CREATE OR REPLACE TEMP MACRO _ga4_pii_text(v, what) AS
    CASE WHEN v IS NULL OR v = 'null' THEN NULL
         WHEN starts_with(v, '"') THEN json_extract_string(v, '$')
         WHEN regexp_full_match(v, '0|-?[1-9][0-9]{0,29}') THEN v
         ELSE _ga4_fail(what || ' is not an identifier: ' || v) END;

-- id_text() of a top-level id, as handed to the pseudonymiser: as _ga4_pii_text, a bool None.
CREATE OR REPLACE TEMP MACRO _ga4_id_text(v, what) AS
    CASE WHEN v IN ('true', 'false') THEN NULL ELSE _ga4_pii_text(v, what) END;

-- A pseudonym as JSON (None and blank text are null).
CREATE OR REPLACE TEMP MACRO _ga4_pseudonym_json(text) AS
    coalesce('"' || _parallax_pseudonym(text) || '"', 'null');

-- clean(value): text stripped, '', '(not set)', '(not provided)' and None are None; an int
-- as digits; anything else falls back.
CREATE OR REPLACE TEMP MACRO _ga4_clean(v, s, what) AS
    CASE WHEN s IS NOT NULL THEN CASE WHEN _ga4_padded(s) THEN _ga4_fail(what || ' is padded')
                                      WHEN s IN ('', '(not set)', '(not provided)') THEN NULL
                                      ELSE s END
         WHEN v IS NULL OR v = 'null' THEN NULL
         WHEN regexp_full_match(v, '0|-?[1-9][0-9]{0,29}') THEN v
         ELSE _ga4_fail(what || ' is not text: ' || v) END;

-- to_float(value): numbers and number text; null, '' and booleans are None; other text, a
-- list or a dict falls back (lenient: a list or a dict is None).
CREATE OR REPLACE TEMP MACRO _ga4_num(v, s, what, lenient) AS
    CASE WHEN s IS NOT NULL THEN _ga4_num_text(s, what)
         WHEN v IS NULL OR v IN ('null', 'true', 'false') THEN NULL
         WHEN lenient AND (starts_with(v, '[') OR starts_with(v, '{')) THEN NULL
         ELSE _ga4_num_text(v, what) END;

-- opt_int(value): None and '' are None; an int, or int() of canonical digits; else falls back.
CREATE OR REPLACE TEMP MACRO _ga4_opt_int(v, s, what) AS
    CASE WHEN s IS NOT NULL THEN CASE WHEN s = '' THEN NULL ELSE _ga4_int_text(s, what) END
         WHEN v IS NULL OR v = 'null' THEN NULL
         ELSE _ga4_int_text(v, what) END;

-- A top-level batch field (VARCHAR: text and numbers alike), else (v, s) of the param.
CREATE OR REPLACE TEMP MACRO _ga4_batch(top, v, s, what) AS
    CASE WHEN top IS NULL THEN _ga4_opt_int(v, s, what)
         WHEN top = '' THEN NULL
         ELSE _ga4_int_text(top, what) END;

-- strip_url() of a string: without query string and fragment, '' is None.
CREATE OR REPLACE TEMP MACRO _ga4_strip_url(u) AS
    nullif(split_part(split_part(u, '#', 1), '?', 1), '');

-- Text as a JSON string, null for NULL.
CREATE OR REPLACE TEMP MACRO _ga4_json(s) AS coalesce(CAST(to_json(s) AS VARCHAR), 'null');

-- Params as a JSON object, as read: the event key's material.
CREATE OR REPLACE TEMP MACRO _ga4_read_json(ks, vs) AS
    '{' || array_to_string(list_transform(ks, lambda k, i: k || ':' || vs[i]), ',') || '}';

-- Param values as stored: personal ones pseudonymised (pii: the personal keys as JSON text),
-- computed only for an event that has one.
CREATE OR REPLACE TEMP MACRO _ga4_kept(ks, vs, pii) AS
    CASE WHEN len(list_filter(ks, lambda k: list_contains(pii, k))) = 0 THEN vs
         ELSE list_transform(ks, lambda k, i:
                  CASE WHEN vs[i] <> 'null' AND list_contains(pii, k)
                       THEN _ga4_pseudonym_json(_ga4_pii_text(vs[i], 'param ' || k))
                       ELSE vs[i] END)
    END;

-- Params as stored (vs: _ga4_kept): page URLs stripped (url, referrer: their JSON text).
CREATE OR REPLACE TEMP MACRO _ga4_params_json(ks, vs, url, referrer) AS
    '{' || array_to_string(list_transform(ks, lambda k, i: k || ':' ||
        CASE WHEN k = '"page_location"' THEN url
             WHEN k = '"page_referrer"' THEN referrer
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

-- The events, in file order, with what the page views and sessions are made of (the _
-- columns, dropped below; pseudonyms only).
CREATE TEMP TABLE stage_events AS
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
        END AS dev,
        CASE WHEN starts_with(CAST(geo AS VARCHAR), '{')
             THEN CAST(json_extract(geo, '$.country') AS VARCHAR) END AS country_v,
        -- `if rec.get("platform")`: text as written; another truthy value falls back
        CASE WHEN platform IS NULL OR CAST(platform AS VARCHAR) IN ('null', '""', 'false')
             THEN NULL
             WHEN starts_with(CAST(platform AS VARCHAR), '"') THEN CAST(platform AS VARCHAR)
             ELSE _ga4_fail('platform is not text') END AS platform,
        CASE WHEN starts_with(CAST(traffic_source AS VARCHAR), '{')
             THEN _ga4_standard(CAST(traffic_source AS VARCHAR), 'traffic_source')
        END AS traffic_source,
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
             THEN _ga4_standard(CAST(items AS VARCHAR), 'items') END AS items,
        CASE WHEN starts_with(CAST(ecommerce AS VARCHAR), '{') THEN ecommerce END AS ecommerce
    FROM raw
),
-- checks, pseudonyms, and the values each event's rows are made of (v: JSON text)
checked AS (
    SELECT
        name,
        CASE WHEN ts BETWEEN 100000000000000 AND 4102444799999999 THEN ts
             ELSE _ga4_fail('event_timestamp ' || ts || ' is not microseconds since 1970')
        END AS ts,
        CASE WHEN _ga4_unique(ks) THEN ks
             ELSE _ga4_fail('an event_params key given twice') END AS ks,
        vs,
        _ga4_kept(ks, vs, $pii) AS kept,
        CASE WHEN uks IS NULL OR _ga4_unique(uks) THEN uks
             ELSE _ga4_fail('a user_properties key given twice') END AS uks,
        uvs,
        _parallax_pseudonym(upid_text) AS upid,
        _parallax_pseudonym(uid_text) AS uid,
        batch_event_index, batch_page_id, batch_ordering_id,
        CASE WHEN batch_event_index IS NULL
             THEN _ga4_get(ks, vs, '"batch_event_index"') END AS b0_v,
        CASE WHEN batch_page_id IS NULL THEN _ga4_get(ks, vs, '"batch_page_id"') END AS b1_v,
        CASE WHEN batch_ordering_id IS NULL
             THEN _ga4_get(ks, vs, '"batch_ordering_id"') END AS b2_v,
        has_device, dev[1] AS category_v, dev[2] AS os_v,
        CASE WHEN starts_with(dev[3], '{') THEN dev[4] END AS browser_v, country_v,
        platform, traffic_source, usd, items,
        _ga4_get(ks, vs, '"page_location"') AS location_v,
        _ga4_get(ks, vs, '"page_referrer"') AS referrer_v,
        _ga4_get(ks, vs, '"ga_session_id"') AS ga_session_v,
        _ga4_get(ks, vs, CAST(to_json($session_param) AS VARCHAR)) AS shared_v,
        -- purchases only: the Python path reads these for a purchase alone
        CASE WHEN name = 'purchase'
             THEN CAST(json_extract(ecommerce, '$.purchase_revenue') AS VARCHAR)
        END AS ecom_revenue_v,
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
        CASE WHEN name = 'page_view'
             THEN _ga4_get(ks, vs, CAST(to_json($load_params[1]) AS VARCHAR)) END AS load1_v,
        CASE WHEN name = 'page_view'
             THEN _ga4_get(ks, vs, CAST(to_json($load_params[2]) AS VARCHAR)) END AS load2_v,
        CASE WHEN name = 'page_view'
             THEN _ga4_get(ks, vs, CAST(to_json($load_params[3]) AS VARCHAR)) END AS load3_v,
        CASE WHEN name = 'page_view'
             THEN _ga4_get(ks, vs, CAST(to_json($load_params[4]) AS VARCHAR)) END AS load4_v
    FROM fields
),
-- each value's string, decoded once
decoded AS (
    SELECT
        *,
        _ga4_s(b0_v) AS b0_s, _ga4_s(b1_v) AS b1_s, _ga4_s(b2_v) AS b2_s,
        _ga4_s(category_v) AS category_s, _ga4_s(os_v) AS os_s,
        _ga4_s(browser_v) AS browser_s, _ga4_s(country_v) AS country_s,
        _ga4_s(location_v) AS location_s, _ga4_s(referrer_v) AS referrer_s,
        _ga4_s(ga_session_v) AS ga_session_s, _ga4_s(shared_v) AS shared_s,
        _ga4_s(ecom_revenue_v) AS ecom_revenue_s, _ga4_s(value_v) AS value_s,
        _ga4_s(currency_v) AS currency_s, _ga4_s(transaction_v) AS transaction_s,
        _ga4_s(trace_v) AS trace_s, _ga4_s(traceparent_v) AS traceparent_s,
        _ga4_s(load1_v) AS load1_s, _ga4_s(load2_v) AS load2_s, _ga4_s(load3_v) AS load3_s,
        _ga4_s(load4_v) AS load4_s
    FROM checked
),
event AS (
    SELECT
        name, ts, ks, vs, kept, uks, uvs, upid, uid, has_device, platform, traffic_source,
        usd, items,
        _ga4_batch(batch_event_index, b0_v, b0_s, 'batch_event_index') AS b0,
        _ga4_batch(batch_page_id, b1_v, b1_s, 'batch_page_id') AS b1,
        _ga4_batch(batch_ordering_id, b2_v, b2_s, 'batch_ordering_id') AS b2,
        _ga4_clean(category_v, category_s, 'device.category') AS category,
        _ga4_clean(os_v, os_s, 'device.operating_system') AS os,
        _ga4_clean(browser_v, browser_s, 'device.web_info.browser') AS browser,
        _ga4_clean(country_v, country_s, 'geo.country') AS country,
        nullif(location_s, '') AS location,
        _ga4_strip_url(_ga4_id(referrer_v, referrer_s, 'page_referrer')) AS referrer,
        _ga4_id(ga_session_v, ga_session_s, 'ga_session_id') AS ga_sid,
        _ga4_id(shared_v, shared_s, 'session param') AS shared,
        CASE WHEN name = 'purchase' THEN coalesce(
            _ga4_num(ecom_revenue_v, ecom_revenue_s, 'ecommerce.purchase_revenue', false),
            _ga4_num(value_v, value_s, 'purchase value param', false))
        END AS revenue,
        _ga4_clean(currency_v, currency_s, 'currency') AS currency,
        _ga4_clean(transaction_v, transaction_s, 'transaction_id') AS transaction_id,
        coalesce(_ga4_id(trace_v, trace_s, 'trace param'),
                 _ga4_traceparent(_ga4_id(traceparent_v, traceparent_s, 'traceparent')))
            AS trace_text,
        coalesce(_ga4_num(load1_v, load1_s, 'load param', true),
                 _ga4_num(load2_v, load2_s, 'load param', true),
                 _ga4_num(load3_v, load3_s, 'load param', true),
                 _ga4_num(load4_v, load4_s, 'load param', true)) AS load_ms
    FROM decoded
),
sessioned AS (
    SELECT
        *,
        _ga4_strip_url(location) AS url,
        _parallax_route(location) AS route,
        CASE WHEN upid IS NOT NULL AND ga_sid IS NOT NULL THEN upid || '.' || ga_sid END
            AS composite,
        _parallax_event_key(
            -- the material as orjson writes it, where that is plain text
            CASE WHEN upid IS NOT NULL AND coalesce(b0, b1, b2) IS NOT NULL
                      AND NOT regexp_matches(name, '["\\\x00-\x1f]')
                 THEN concat('["', upid, '",', ts, ',"', name, '",', coalesce(b0::VARCHAR, 'null'),
                             ',', coalesce(b1::VARCHAR, 'null'), ',',
                             coalesce(b2::VARCHAR, 'null'), ']') END,
            upid, ts, name, b0, b1, b2,
            CASE WHEN upid IS NULL OR coalesce(b0, b1, b2) IS NULL
                 THEN _ga4_read_json(ks, vs) END) AS event_key
    FROM event
)
SELECT
    event_key, coalesce(shared, composite) AS session_id, make_timestamptz(ts) AS occurred_at,
    name, url, route,
    concat(
        '{"ga4_session":', _ga4_json(composite),
        ',"user_pseudo_id":', coalesce('"' || upid || '"', 'null'),
        ',"user_id":"' || uid || '"',
        ',"params":', _ga4_params_json(ks, kept, _ga4_json(url), _ga4_json(referrer)),
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
        '}') AS properties,
    $source AS source, $load_id AS load_id,
    referrer AS _referrer, uid AS _uid, category AS _category, country AS _country,
    load_ms AS _load_ms, trace_text AS _trace
FROM sessioned;

CREATE TEMP TABLE stage_page_views AS SELECT * FROM page_views LIMIT 0;

INSERT INTO stage_page_views BY NAME
SELECT event_key, session_id, NULL::INTEGER AS seq, occurred_at AS viewed_at, url, route,
       _referrer AS referrer, CASE WHEN _load_ms >= 0 THEN _load_ms END AS load_ms,
       CASE WHEN _trace IS NULL OR _trace = '' THEN NULL
            WHEN regexp_matches(_trace, '[^\x00-\x7f]')
            THEN _ga4_fail('a trace id that is not ASCII')
            ELSE lower(_trace) END AS trace_id,
       source, load_id
FROM stage_events
WHERE name = 'page_view' AND session_id IS NOT NULL;

-- One row per session of the file: its first and last event, the first user, device and
-- country its events name (file order), converted by a purchase; the load SQL merges them
-- as it merges the Python path's chunks.
CREATE TEMP TABLE stage_sessions AS SELECT * FROM sessions LIMIT 0;

INSERT INTO stage_sessions BY NAME
SELECT session_id,
       arg_min(_uid, rowid) FILTER (WHERE _uid IS NOT NULL) AS user_id,
       min(occurred_at) AS started_at, max(occurred_at) AS ended_at,
       arg_min(_category, rowid) FILTER (WHERE _category IS NOT NULL) AS device,
       arg_min(_country, rowid) FILTER (WHERE _country IS NOT NULL) AS country,
       NULL::VARCHAR AS segment, bool_or(name = 'purchase') AS converted,
       0.0::DOUBLE AS revenue, $source AS source, $load_id AS load_id
FROM stage_events
WHERE session_id IS NOT NULL
GROUP BY session_id;

ALTER TABLE stage_events DROP COLUMN _referrer;
ALTER TABLE stage_events DROP COLUMN _uid;
ALTER TABLE stage_events DROP COLUMN _category;
ALTER TABLE stage_events DROP COLUMN _country;
ALTER TABLE stage_events DROP COLUMN _load_ms;
ALTER TABLE stage_events DROP COLUMN _trace;
