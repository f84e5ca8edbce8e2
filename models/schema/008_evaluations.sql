-- 008_evaluations: human quality evaluations of a stratified sample of responses or
-- interactions (`parallax sample` → evaluators fill the CSV → `parallax evaluations ingest`).
-- key: (kind, item_source, item_id, evaluator): ingesting a file again replaces the same
-- evaluations with the same values, so it changes nothing. The stratum and its population
-- size travel with the sample file, so the report can weight strata and apply the finite
-- population correction without re-deriving them from data that may have changed since.
CREATE TABLE evaluations (
    kind                VARCHAR NOT NULL,  -- responses | interactions
    item_source         VARCHAR NOT NULL,  -- feedback.source / interactions.source
    item_id             VARCHAR NOT NULL,  -- feedback_id / interaction_id
    stratum             VARCHAR NOT NULL,  -- 'channel=call|reason=refund', or 'all'
    stratum_population  BIGINT,            -- items in the stratum when the sample was drawn
    stratum_sample      BIGINT,            -- items drawn from it
    evaluator           VARCHAR,           -- pseudonymised, like agent ids
    passed              BOOLEAN,           -- the evaluator's pass / fail
    score               DOUBLE,            -- the evaluator's score, on the team's own scale
    notes               VARCHAR,
    file                VARCHAR,
    loaded_at           TIMESTAMPTZ NOT NULL
);
