-- vitals_bands: the poor-feedback rate by the Core Web Vitals rating (good / needs improvement
-- / poor, Google's thresholds) of the page the customer answered about, per vital, with 95 %
-- Wilson intervals. Only responses linked to their own session or user count (a route-time
-- link carries a window average, not their page); a page's measurement is the last report of
-- its metric_id, on the latest page of its session and route before it (a page with two
-- measurements of one vital — a back-forward cache restore — counts its worse one, as
-- models/exposure/071_response_vitals.sql does).
-- Parameters: $route VARCHAR (default NULL: every route)
WITH measured AS (
    SELECT p.page_key, w.metric AS vital, max(w.value) AS value
    FROM web_vitals AS w
    ASOF JOIN exposure_pages AS p
      ON p.session_id = w.session_id AND p.route = w.route AND w.measured_at >= p.started_at
    WHERE w.metric IN ('LCP', 'INP', 'CLS')
    GROUP BY p.page_key, w.metric
), rated AS (
    SELECT m.vital, r.is_poor,
           CASE WHEN m.value <= t.good THEN 1 WHEN m.value <= t.poor THEN 2 ELSE 3 END
               AS rating_order
    FROM exposure_responses AS r
    JOIN measured AS m USING (page_key)
    JOIN web_vital_thresholds AS t ON t.metric = m.vital
    WHERE r.link IN ('session', 'user')
      AND ($route::VARCHAR IS NULL OR r.route = $route::VARCHAR)
), counted AS (
    SELECT vital, rating_order, count(*) AS responses, count(*) FILTER (WHERE is_poor) AS poor
    FROM rated GROUP BY vital, rating_order
)
SELECT vital AS metric, rating_order,
       ['good', 'needs improvement', 'poor'][rating_order] AS rating,
       responses, poor, poor / responses AS poor_rate,
       -- Wilson score interval, z = 1.96
       (poor / responses + 1.9208 / responses
        - 1.96 * sqrt(poor / responses * (1 - poor / responses) / responses
                      + 0.9604 / responses ^ 2))
           / (1 + 3.8416 / responses) AS ci_low,
       (poor / responses + 1.9208 / responses
        + 1.96 * sqrt(poor / responses * (1 - poor / responses) / responses
                      + 0.9604 / responses ^ 2))
           / (1 + 3.8416 / responses) AS ci_high
FROM counted
ORDER BY vital, rating_order;
