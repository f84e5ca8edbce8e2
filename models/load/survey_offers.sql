-- load/survey_offers: move this load's staged survey offers into `survey_offers`.
-- Natural key offer_key (the vendor's event id, or a keyed hash of session, time and
-- survey): repeats inside the load and offers already stored are skipped, so re-loading the
-- same offers changes nothing. The first INSERT's count is the number of rows loaded.
INSERT INTO survey_offers BY NAME
SELECT * EXCLUDE (_rn)
FROM (
    SELECT *, row_number() OVER (PARTITION BY offer_key ORDER BY offered_at) AS _rn
    FROM stage_survey_offers
) AS s
WHERE _rn = 1
  AND NOT EXISTS (SELECT 1 FROM survey_offers AS t WHERE t.offer_key = s.offer_key);
