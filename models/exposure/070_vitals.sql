-- exposure_vitals: Core Web Vitals (the web_vitals view, read once by 065) per route and
-- metric over the window — measurements, p75 and its rating against web_vital_thresholds: the
-- figures the silent verdict checks beside the page-load figures of 060 (kept in files of their
-- own, this and 071: the models before them stand without vitals, and a database without any
-- vitals gets empty tables).
-- Parameters: $since TIMESTAMPTZ, $until TIMESTAMPTZ (NULL = open)
CREATE OR REPLACE TABLE exposure_vitals AS
SELECT w.route, w.metric, count(*) AS measurements, quantile_cont(w.value, 0.75) AS p75,
       any_value(w.good) AS good, any_value(w.poor) AS poor, any_value(w.unit) AS unit,
       CASE WHEN p75 <= any_value(w.good) THEN 'good'
            WHEN p75 <= any_value(w.poor) THEN 'needs-improvement' ELSE 'poor' END AS rating
FROM exposure_measured_vitals AS w
WHERE w.core
  AND ($since::TIMESTAMPTZ IS NULL OR w.measured_at >= $since::TIMESTAMPTZ)
  AND ($until::TIMESTAMPTZ IS NULL OR w.measured_at < $until::TIMESTAMPTZ)
GROUP BY w.route, w.metric;
