-- 002_findings: what `parallax correlate` concluded, one run at a time.
-- A run records its window and every setting it used; findings keep the full JSON contract
-- (docs/findings.md) in `doc` beside the columns most queries filter on.

CREATE TABLE correlate_runs (
    run_id        VARCHAR PRIMARY KEY,
    created_at    TIMESTAMPTZ NOT NULL,
    since         TIMESTAMPTZ,
    until         TIMESTAMPTZ,
    responses     BIGINT NOT NULL,        -- responses in the window
    modelled      BIGINT NOT NULL,        -- responses linked to a delivered experience
    link_coverage JSON NOT NULL,          -- {session, user, route_time, none}: counts
    parameters    JSON NOT NULL           -- [join] and [correlate] settings used
);

-- key: (run_id, subject_kind, subject).
CREATE TABLE findings (
    run_id           VARCHAR NOT NULL,
    subject_kind     VARCHAR NOT NULL,    -- route | dependency | segment
    subject          VARCHAR NOT NULL,
    verdict          VARCHAR NOT NULL,    -- delivery | design | mixed | silent | inconclusive | ok
    n_responses      BIGINT NOT NULL,
    poor_rate        DOUBLE,
    explained_share  DOUBLE,
    p_value          DOUBLE,
    q_value          DOUBLE,
    evidence         VARCHAR NOT NULL,
    doc              JSON NOT NULL
);
