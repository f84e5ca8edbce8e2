-- 005_source_state: where each pull source ([sources.NAME] in parallax.toml) stands.
-- The cursor is written in the same transaction as the rows it covers, so a pull killed
-- half-way resumes from the last committed page: nothing lost, nothing stored twice.
-- Row counts are not kept here: the loads ledger has them (source = 'pull:<name>').

CREATE TABLE source_state (
    source           VARCHAR PRIMARY KEY,  -- the NAME of [sources.NAME]
    type             VARCHAR NOT NULL,     -- qualtrics | surveymonkey | json | jaeger | …
    cursor           VARCHAR,              -- high-water mark: ISO 8601 UTC time, or YYYYMMDD
    updated_at       TIMESTAMPTZ NOT NULL, -- when the cursor last moved
    last_success_at  TIMESTAMPTZ,          -- when a pull last ran to the end
    last_error       VARCHAR               -- one line, without secrets; NULL after a success
);
