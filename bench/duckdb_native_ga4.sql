-- duckdb_native_ga4: the canonical event, page-view and session columns of a GA4 BigQuery
-- export (newline-delimited JSON), extracted by DuckDB alone into in-memory tables — the
-- end-to-end benchmark's yardstick for the analytics load, as duckdb_native_otlp.sql is for
-- traces. It is written the way one would write it for DuckDB (explicit schema, no sampling,
-- params as a map) and extracts the same fields as the loader (models/stage/ga4_ndjson.sql):
-- event identity (an md5 of user, time, name and batch ids), session id (the shared session
-- param, else user_pseudo_id.ga_session_id), time, name, URL and referrer (query string cut),
-- user ids, device category, OS, browser, country, purchase revenue, currency and transaction,
-- the trace id and page load time params, and the event's params as JSON; the page views; one
-- row per session (first user, start, end, device, country, converted). What it leaves out is
-- what a load must do besides: no pseudonymisation, no route normalisation, no checks (a bad
-- value is silently NULL), no deduplication, nothing written to disk. Params: $file.
CREATE OR REPLACE TABLE native_events AS
WITH raw AS (
    SELECT *,
        map_from_entries(list_transform(event_params, lambda p: {'k': p.key,
            'v': coalesce(p.value.string_value, p.value.int_value::VARCHAR,
                          p.value.double_value::VARCHAR, p.value.float_value::VARCHAR)}))
            AS params
    FROM read_json($file, format = 'newline_delimited', records = true, auto_detect = false,
        columns = {
            'event_name': 'VARCHAR', 'event_timestamp': 'BIGINT',
            'event_params': 'STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR,
                int_value BIGINT, float_value DOUBLE, double_value DOUBLE))[]',
            'user_id': 'VARCHAR', 'user_pseudo_id': 'VARCHAR',
            'device': 'STRUCT(category VARCHAR, operating_system VARCHAR,
                web_info STRUCT(browser VARCHAR))',
            'geo': 'STRUCT(country VARCHAR)',
            'ecommerce': 'STRUCT(purchase_revenue DOUBLE, transaction_id VARCHAR)',
            'batch_event_index': 'BIGINT', 'batch_page_id': 'BIGINT',
            'batch_ordering_id': 'BIGINT'})
)
SELECT
    md5(concat_ws('|', user_pseudo_id, event_timestamp, event_name, batch_event_index,
                  batch_page_id, batch_ordering_id)) AS event_key,
    coalesce(params['session_id'], user_pseudo_id || '.' || params['ga_session_id'])
        AS session_id,
    make_timestamp(event_timestamp)::TIMESTAMPTZ AS occurred_at,
    event_name AS name,
    nullif(split_part(split_part(params['page_location'], '#', 1), '?', 1), '') AS url,
    nullif(split_part(split_part(params['page_referrer'], '#', 1), '?', 1), '') AS referrer,
    user_pseudo_id, user_id,
    device.category AS device, device.operating_system AS os, device.web_info.browser AS browser,
    geo.country AS country,
    CASE WHEN event_name = 'purchase'
         THEN coalesce(ecommerce.purchase_revenue, TRY_CAST(params['value'] AS DOUBLE)) END
        AS revenue,
    params['currency'] AS currency,
    coalesce(ecommerce.transaction_id, params['transaction_id']) AS transaction_id,
    lower(coalesce(params['trace_id'], split_part(params['traceparent'], '-', 2))) AS trace_id,
    TRY_CAST(coalesce(params['page_load_ms'], params['load_ms'], params['load_time_ms'],
                      params['page_load_time']) AS DOUBLE) AS load_ms,
    to_json(params) AS properties
FROM raw;

CREATE OR REPLACE TABLE native_page_views AS
SELECT event_key, session_id, occurred_at AS viewed_at, url, referrer, load_ms, trace_id
FROM native_events
WHERE name = 'page_view' AND session_id IS NOT NULL;

CREATE OR REPLACE TABLE native_sessions AS
SELECT session_id, arg_min(user_id, occurred_at) AS user_id, min(occurred_at) AS started_at,
       max(occurred_at) AS ended_at, arg_min(device, occurred_at) AS device,
       arg_min(country, occurred_at) AS country, bool_or(name = 'purchase') AS converted
FROM native_events
WHERE session_id IS NOT NULL
GROUP BY session_id;
