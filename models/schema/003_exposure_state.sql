-- 003_exposure_state: what the incremental exposure_pages model has folded in.
-- A refresh recomputes the pages of the loads not yet listed in exposure_loads; a changed
-- fingerprint (the model's SQL or the [join] settings it reads) forces a full rebuild.

CREATE TABLE exposure_state (
    model         VARCHAR PRIMARY KEY,    -- exposure_pages
    fingerprint   VARCHAR NOT NULL,       -- sha256 of the model SQL and its settings
    refreshed_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE exposure_loads (
    load_id  VARCHAR PRIMARY KEY            -- loads folded into exposure_pages
);
