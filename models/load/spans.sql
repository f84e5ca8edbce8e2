-- load/spans: move this load's staged spans into `spans`.
-- Natural key (trace_id, span_id, kind): a Zipkin CLIENT span and its shared SERVER span carry
-- one id and are two spans. Repeats inside the file and spans already stored are skipped.
-- The first statement's count is the number of rows loaded.
INSERT INTO spans BY NAME
SELECT * EXCLUDE (_rn)
FROM (
    SELECT *, row_number() OVER (PARTITION BY trace_id, span_id, kind) AS _rn
    FROM stage_spans
) AS s
WHERE _rn = 1
  AND NOT EXISTS (
    SELECT 1 FROM spans AS t
    WHERE t.trace_id = s.trace_id AND t.span_id = s.span_id AND t.kind = s.kind
  );
