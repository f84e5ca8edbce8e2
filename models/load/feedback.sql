-- load/feedback: move this load's staged responses into `feedback`.
-- Natural key (source, feedback_id): source names the platform and survey, so the same
-- export loaded twice, or two overlapping exports, store each response once.
INSERT INTO feedback BY NAME
SELECT * EXCLUDE (_rn)
FROM (
    SELECT *, row_number() OVER (PARTITION BY source, feedback_id) AS _rn
    FROM stage_feedback
) AS s
WHERE _rn = 1
  AND NOT EXISTS (
    SELECT 1 FROM feedback AS t
    WHERE t.source = s.source AND t.feedback_id = s.feedback_id
  );
