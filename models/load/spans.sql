-- load/spans: move this load's staged spans into `spans`.
-- Natural key (trace_id, span_id, kind): a Zipkin CLIENT span and its shared SERVER span carry
-- one id and are two spans. Repeats inside the file (the first staged copy wins) and spans
-- already stored are skipped. Picking one rowid per key and semi-joining on it measured twice
-- as fast as a row_number() window over the staged rows.
-- The first INSERT's count is the number of rows loaded.
INSERT INTO spans BY NAME
SELECT s.*
FROM stage_spans AS s
SEMI JOIN (
    SELECT min(rowid) AS first_row FROM stage_spans GROUP BY trace_id, span_id, kind
) AS k ON s.rowid = k.first_row
WHERE NOT EXISTS (
    SELECT 1 FROM spans AS t
    WHERE t.trace_id = s.trace_id AND t.span_id = s.span_id AND t.kind = s.kind
);
