-- 001_canonical: the common language every connector writes and every model reads.
-- Timestamps are UTC TIMESTAMPTZ, durations milliseconds (DOUBLE), identifiers strings.
-- user_id / IP-like values are already pseudonymised (keyed HMAC) when they arrive here.
-- Natural keys (commented per table) make re-loading the same data change nothing.

-- One row per file load, failed ones included (status = 'failed', with the error).
CREATE TABLE loads (
    load_id        VARCHAR PRIMARY KEY,
    source         VARCHAR NOT NULL,       -- 'file', later 'pull:<vendor>', 'receiver'
    kind           VARCHAR NOT NULL,       -- traces | feedback | analytics | interactions
    file           VARCHAR,
    sha256         VARCHAR,
    format         VARCHAR,
    started_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ,
    status         VARCHAR NOT NULL,       -- ok | failed
    error          VARCHAR,
    rows_read      BIGINT,
    rows_loaded    BIGINT,
    rows_duplicate BIGINT,
    rows_rejected  BIGINT
);

-- Bad records of a good file: kept with the reason, never dropped silently.
CREATE TABLE rejects (
    load_id   VARCHAR NOT NULL,
    file      VARCHAR,
    location  VARCHAR,                     -- 'line 12', 'record 3', 'row 7'
    reason    VARCHAR NOT NULL,
    raw       VARCHAR
);

-- key: (trace_id, span_id, kind) — a Zipkin client span and its shared server span share an id.
CREATE TABLE spans (
    trace_id        VARCHAR NOT NULL,      -- lower-case hex
    span_id         VARCHAR NOT NULL,
    parent_span_id  VARCHAR,
    service         VARCHAR,
    name            VARCHAR,
    kind            VARCHAR NOT NULL,      -- unspecified | internal | server | client | producer | consumer
    started_at      TIMESTAMPTZ NOT NULL,
    duration_ms     DOUBLE,
    is_error        BOOLEAN NOT NULL,
    status_code     INTEGER,               -- HTTP response status
    http_method     VARCHAR,
    http_route      VARCHAR,               -- the raw route/URL attribute the route came from
    route           VARCHAR,               -- normalised template, meets page_views.route
    peer            VARCHAR,               -- dependency called (CLIENT/PRODUCER spans)
    session_id      VARCHAR,
    user_id         VARCHAR,               -- pseudonymised
    attributes      JSON,                  -- span attributes, identifiers pseudonymised
    resource        JSON,                  -- resource attributes
    source          VARCHAR NOT NULL,      -- format: otlp-json | otlp-jsonl | jaeger | zipkin
    load_id         VARCHAR NOT NULL
);

-- key: (source, feedback_id); source names the platform and survey (qualtrics:SV_…).
CREATE TABLE feedback (
    feedback_id   VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    submitted_at  TIMESTAMPTZ,
    channel       VARCHAR,                 -- web | email | app | sms | …
    metric        VARCHAR NOT NULL,        -- nps | csat | ces | rating
    score         DOUBLE,                  -- NULL: the respondent skipped the question
    scale_min     DOUBLE NOT NULL,
    scale_max     DOUBLE NOT NULL,
    is_poor       BOOLEAN,                 -- NULL when score is NULL
    verbatim      VARCHAR,
    session_id    VARCHAR,
    user_id       VARCHAR,                 -- pseudonymised
    page_url      VARCHAR,
    route         VARCHAR,
    device        VARCHAR,
    country       VARCHAR,
    segment       VARCHAR,
    attributes    JSON,                    -- other embedded data
    load_id       VARCHAR NOT NULL
);

-- key: session_id; merged across loads (a session may span export files).
CREATE TABLE sessions (
    session_id  VARCHAR PRIMARY KEY,
    user_id     VARCHAR,
    started_at  TIMESTAMPTZ,
    ended_at    TIMESTAMPTZ,
    device      VARCHAR,
    country     VARCHAR,
    segment     VARCHAR,
    converted   BOOLEAN NOT NULL DEFAULT false,
    revenue     DOUBLE NOT NULL DEFAULT 0,
    source      VARCHAR,
    load_id     VARCHAR
);

-- key: event_key (source-specific identity: GA4 event identity, or file + row).
CREATE TABLE page_views (
    event_key   VARCHAR NOT NULL,
    session_id  VARCHAR NOT NULL,
    seq         INTEGER,                   -- 1-based order in the session, renumbered on load
    viewed_at   TIMESTAMPTZ NOT NULL,
    url         VARCHAR,                   -- without query string and fragment
    route       VARCHAR,
    referrer    VARCHAR,
    load_ms     DOUBLE,
    trace_id    VARCHAR,
    source      VARCHAR NOT NULL,
    load_id     VARCHAR NOT NULL
);

-- key: event_key.
CREATE TABLE events (
    event_key    VARCHAR NOT NULL,
    session_id   VARCHAR,
    occurred_at  TIMESTAMPTZ NOT NULL,
    name         VARCHAR NOT NULL,
    route        VARCHAR,
    properties   JSON,
    source       VARCHAR NOT NULL,
    load_id      VARCHAR NOT NULL
);

-- key: (source, interaction_id).
CREATE TABLE interactions (
    interaction_id          VARCHAR NOT NULL,
    source                  VARCHAR NOT NULL,
    channel                 VARCHAR,        -- call | chat | email | …
    user_id                 VARCHAR,
    started_at              TIMESTAMPTZ,
    wait_s                  DOUBLE,
    handle_s                DOUBLE,
    resolved_first_contact  BOOLEAN,
    reason                  VARCHAR,
    agent_id                VARCHAR,
    verbatim                VARCHAR,
    csat                    DOUBLE,
    load_id                 VARCHAR
);

-- key: id.
CREATE TABLE annotations (
    id           VARCHAR PRIMARY KEY,
    kind         VARCHAR NOT NULL,         -- incident | deploy | design_change
    starts_at    TIMESTAMPTZ NOT NULL,
    ends_at      TIMESTAMPTZ,
    service      VARCHAR,
    route        VARCHAR,
    description  VARCHAR
);
