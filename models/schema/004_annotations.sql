-- 004_annotations: what happened to the site, from people and tools — incidents, deploys and
-- design changes — read beside the findings (`parallax annotate`, `parallax incident`,
-- `parallax design-check`, the HTML review).
--   kind        incident | deploy | design-change
--   starts_at   when it began (UTC); ends_at NULL = a point in time (a deploy, a release)
--   service / route / dependency: what it touched (any may be NULL; all NULL = site-wide)
--   source      where the row came from: 'cli', or 'import:<file name>'
--   created_at  when Parallax first stored it
ALTER TABLE annotations ADD COLUMN dependency VARCHAR;
ALTER TABLE annotations ADD COLUMN source VARCHAR;
ALTER TABLE annotations ADD COLUMN created_at TIMESTAMPTZ;
