-- exposure_measured_vitals: the Core Web Vitals measurements (the web_vitals view) with a route,
-- each with its metric's thresholds, read once for the two models after it (070 over the
-- window's core vitals, 071 over CLS and INP). The view extracts vitals from the JSON of every
-- span and event, a full scan of the raw tables that is most of what either model costs:
-- measured: 0.24 s of 0.27 s on a 377 k-span database without a single vital. $vitals false
-- (vitals_present.sql found no row that could hold one) leaves the table empty, unscanned.
-- Parameters: $vitals BOOLEAN
CREATE OR REPLACE TABLE exposure_measured_vitals AS
SELECT w.source, w.metric_id, w.session_id, w.route, w.metric, w.value, w.measured_at,
       t.good, t.poor, t.unit, t.core
FROM web_vitals AS w
JOIN web_vital_thresholds AS t USING (metric)
WHERE $vitals AND w.route IS NOT NULL AND (t.core OR w.metric IN ('CLS', 'INP'));
