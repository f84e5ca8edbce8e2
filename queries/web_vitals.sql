-- web_vitals: Core Web Vitals per route and device (and over all devices) — measurements,
-- the 75th percentile (the percentile Google rates a page by) and its rating, and the shares
-- of measurements rated good / needs improvement / poor by Google's thresholds (LCP 2.5 s /
-- 4 s, INP 200 ms / 500 ms, CLS 0.1 / 0.25; FCP and TTFB too: table web_vital_thresholds).
-- LCP, INP, FCP, TTFB in ms, CLS unitless. One measurement per metric_id (the last report).
-- Parameters: $min_measurements INTEGER (default 1), $since TIMESTAMPTZ (default NULL),
--             $until TIMESTAMPTZ (default NULL)
WITH v AS (
    SELECT w.route, coalesce(s.device, '(unknown)') AS device, w.metric, w.value, w.rating
    FROM web_vitals AS w
    LEFT JOIN sessions AS s USING (session_id)
    WHERE w.route IS NOT NULL
      AND ($since::TIMESTAMPTZ IS NULL OR w.measured_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR w.measured_at < $until::TIMESTAMPTZ)
),
agg AS (
    SELECT route, coalesce(device, '(all devices)') AS device, metric,
           count(*) AS measurements,
           quantile_cont(value, 0.75) AS p75,
           avg((rating = 'good')::INTEGER) AS good_share,
           avg((rating = 'needs-improvement')::INTEGER) AS needs_improvement_share,
           avg((rating = 'poor')::INTEGER) AS poor_share
    FROM v
    GROUP BY GROUPING SETS ((route, device, metric), (route, metric))
)
SELECT a.route, a.device, a.metric, a.measurements, round(a.p75, 3) AS p75, t.unit,
       CASE WHEN a.p75 <= t.good THEN 'good' WHEN a.p75 <= t.poor THEN 'needs-improvement'
            ELSE 'poor' END AS p75_rating,
       round(100 * a.good_share, 1) AS good_pct,
       round(100 * a.needs_improvement_share, 1) AS needs_improvement_pct,
       round(100 * a.poor_share, 1) AS poor_pct
FROM agg AS a
JOIN web_vital_thresholds AS t USING (metric)
WHERE a.measurements >= $min_measurements
ORDER BY a.route, a.metric, a.device = '(all devices)' DESC, a.device;
