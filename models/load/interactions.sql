-- load/interactions: move this load's staged contacts into `interactions`.
-- Natural key (source, interaction_id). Within the load, the copy with the latest
-- updated_at wins (Amazon Connect delivers a contact record at least once, again when it
-- changes). A stored row is replaced only by a strictly newer copy, so loading the same
-- file twice changes nothing. The INSERT's count is the rows inserted or replaced.
CREATE TEMP TABLE _interactions_new AS
SELECT * EXCLUDE (_rn)
FROM (
    SELECT *, row_number() OVER (
        PARTITION BY source, interaction_id
        ORDER BY updated_at DESC NULLS LAST, ended_at DESC NULLS LAST) AS _rn
    FROM stage_interactions
) AS s
WHERE _rn = 1;

DELETE FROM interactions AS t
USING _interactions_new AS s
WHERE t.source = s.source AND t.interaction_id = s.interaction_id
  AND s.updated_at > coalesce(t.updated_at, TIMESTAMPTZ '-infinity');

INSERT INTO interactions BY NAME
SELECT *
FROM _interactions_new AS s
WHERE NOT EXISTS (
    SELECT 1 FROM interactions AS t
    WHERE t.source = s.source AND t.interaction_id = s.interaction_id
);

DROP TABLE _interactions_new;
