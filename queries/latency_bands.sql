-- latency_bands: the poor-feedback rate by the load time of the page the customer answered
-- about (Core Web Vitals bands), with 95 % Wilson intervals. Only responses linked to their
-- own session or user count: a route-time link carries a window average, not their page.
-- Parameters: $route VARCHAR (default NULL: every route)
WITH r AS (
    SELECT load_ms, is_poor
    FROM exposure_responses
    WHERE link IN ('session', 'user') AND load_ms IS NOT NULL
      AND ($route::VARCHAR IS NULL OR route = $route::VARCHAR)
), banded AS (
    SELECT CASE WHEN load_ms < 1000 THEN 1 WHEN load_ms < 2500 THEN 2
                WHEN load_ms < 4000 THEN 3 WHEN load_ms < 6000 THEN 4 ELSE 5 END AS band_order,
           is_poor
    FROM r
), counted AS (
    SELECT band_order, count(*) AS responses, count(*) FILTER (WHERE is_poor) AS poor
    FROM banded GROUP BY band_order
)
SELECT band_order,
       ['< 1 s', '1–2.5 s', '2.5–4 s', '4–6 s', '≥ 6 s'][band_order] AS band,
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
ORDER BY band_order;
