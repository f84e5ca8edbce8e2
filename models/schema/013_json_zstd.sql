-- 013_json_zstd: the JSON columns of the two largest tables (span attributes and resource,
-- analytics event properties) are compressed with zstd. DuckDB's default for text
-- (dictionary + FSST) spends most of a load's write time analysing these long, mostly
-- distinct objects. Measured inserting the 20 k-session demo world's rows (2 shared cores):
-- 377,008 spans in 1.03-1.08 s and 62 blocks against 1.27-1.35 s and 132 blocks; 131,317
-- events in 0.34-0.39 s and 15 blocks against 0.57-0.79 s and 124 blocks. DuckDB cannot
-- change a column's compression in place: both tables are rebuilt with the same columns in
-- the same order (events.url from 009 included).
CREATE TABLE spans_013 (
    trace_id        VARCHAR NOT NULL,
    span_id         VARCHAR NOT NULL,
    parent_span_id  VARCHAR,
    service         VARCHAR,
    name            VARCHAR,
    kind            VARCHAR NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    duration_ms     DOUBLE,
    is_error        BOOLEAN NOT NULL,
    status_code     INTEGER,
    http_method     VARCHAR,
    http_route      VARCHAR,
    route           VARCHAR,
    peer            VARCHAR,
    session_id      VARCHAR,
    user_id         VARCHAR,
    attributes      JSON USING COMPRESSION zstd,
    resource        JSON USING COMPRESSION zstd,
    source          VARCHAR NOT NULL,
    load_id         VARCHAR NOT NULL
);
INSERT INTO spans_013 SELECT * FROM spans;
DROP TABLE spans;
ALTER TABLE spans_013 RENAME TO spans;

CREATE TABLE events_013 (
    event_key    VARCHAR NOT NULL,
    session_id   VARCHAR,
    occurred_at  TIMESTAMPTZ NOT NULL,
    name         VARCHAR NOT NULL,
    route        VARCHAR,
    properties   JSON USING COMPRESSION zstd,
    source       VARCHAR NOT NULL,
    load_id      VARCHAR NOT NULL,
    url          VARCHAR
);
INSERT INTO events_013 SELECT * FROM events;
DROP TABLE events;
ALTER TABLE events_013 RENAME TO events;
