-- 009_route_templates: the route templates of this database — learned from spans that carry
-- both http.route and a concrete path, or declared in [routes] templates — and the state the
-- stored routes were computed with (connectors/route_learning.py keeps both current).

-- key: (template, source); a template both declared and learned has two rows.
CREATE TABLE route_templates (
    template    VARCHAR NOT NULL,      -- canonical: /category/{slug}, /docs/{*path}
    source      VARCHAR NOT NULL,      -- learned | config
    spans       BIGINT NOT NULL,       -- spans that taught it (0 when declared)
    written     VARCHAR,               -- one http.route that taught it, e.g. /category/:slug
    example     VARCHAR,               -- one concrete path that taught it
    first_seen  TIMESTAMPTZ,           -- the first and the last span that taught it
    last_seen   TIMESTAMPTZ,
    PRIMARY KEY (template, source)
);

-- key: name. fingerprint: of the rules, templates and normalisation the stored routes were
-- computed with; learn: whether learned templates were kept ('true' | 'false').
CREATE TABLE route_state (
    name        VARCHAR PRIMARY KEY,
    value       VARCHAR NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- Analytics events keep their page URL (query string and fragment removed) in a column, as
-- page views do, so re-routing reads a column instead of every event's JSON; rows stored
-- before this column existed get it from the GA4 page_location they kept.
ALTER TABLE events ADD COLUMN url VARCHAR;
UPDATE events SET url = json_extract_string(properties, '$.params.page_location');
