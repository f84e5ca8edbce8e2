-- load/spans: move this load's staged spans into `spans`.
-- Natural key (trace_id, span_id, kind): a Zipkin CLIENT span and its shared SERVER span carry
-- one id and are two spans. Repeats inside the file (the first staged copy wins) and spans
-- already stored are skipped. Picking one rowid per key and semi-joining on it measured twice
-- as fast as a row_number() window over the staged rows.
-- Stored spans are looked up only within a day of this load's spans: a span sent again carries
-- its start time again, and the bound lets DuckDB skip the row groups outside it (zone maps),
-- so a load costs O(its own rows) rather than O(every span stored) — the receiver hands off
-- small batches many times a minute. (5 M stored spans, 20 k staged: 0.25 s → 0.01 s.)
-- The first INSERT's count is the number of rows loaded.
SET VARIABLE parallax_lo = (SELECT min(started_at) - INTERVAL 1 DAY FROM stage_spans);
SET VARIABLE parallax_hi = (SELECT max(started_at) + INTERVAL 1 DAY FROM stage_spans);
INSERT INTO spans BY NAME
SELECT s.*
FROM stage_spans AS s
SEMI JOIN (
    SELECT min(rowid) AS first_row FROM stage_spans GROUP BY trace_id, span_id, kind
) AS k ON s.rowid = k.first_row
WHERE NOT EXISTS (
    SELECT 1 FROM spans AS t
    WHERE t.started_at BETWEEN getvariable('parallax_lo') AND getvariable('parallax_hi')
      AND t.trace_id = s.trace_id AND t.span_id = s.span_id AND t.kind = s.kind
);
