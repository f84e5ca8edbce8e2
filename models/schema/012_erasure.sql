-- 012_erasure: `parallax erase` — one person's rows deleted from every table, and kept out.
-- tombstones: who was erased, by pseudonym only (the keyed hash of the user id or e-mail, or
-- of the session id); every later load drops staged rows that match one before they are
-- stored (connectors/load.py), so re-ingesting an old export does not bring the person back.
-- erasures: the log of erasures — what kind, the pseudonym, the rows deleted per table; never
-- the raw value. erasure_skips: rows a load dropped because they belonged to an erased person.
CREATE TABLE tombstones (
    kind       VARCHAR NOT NULL,           -- user | session
    pseudonym  VARCHAR NOT NULL,
    erased_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, pseudonym)
);

CREATE TABLE erasures (
    erased_at  TIMESTAMPTZ NOT NULL,
    kind       VARCHAR NOT NULL,           -- user | email | session (what was given)
    pseudonym  VARCHAR NOT NULL,
    rows       JSON NOT NULL               -- {table: rows deleted}
);

CREATE TABLE erasure_skips (
    load_id    VARCHAR NOT NULL,
    rows       BIGINT NOT NULL             -- staged rows of erased people not stored
);
