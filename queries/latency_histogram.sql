-- latency_histogram: how page load times are distributed on each route (share of the route's
-- page loads per 250 ms bin; loads of 8 s or more share the last bin), in the join model's
-- window.
-- Parameters: $route VARCHAR (default NULL: every route), $since TIMESTAMPTZ (default NULL),
--             $until TIMESTAMPTZ (default NULL)
WITH p AS (
    SELECT route, least(floor(load_ms / 250), 32)::INTEGER AS bin
    FROM exposure_pages
    WHERE load_ms IS NOT NULL AND route IS NOT NULL
      AND ($route::VARCHAR IS NULL OR route = $route::VARCHAR)
      AND ($since::TIMESTAMPTZ IS NULL OR started_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR started_at < $until::TIMESTAMPTZ)
)
SELECT route, bin * 250 AS bin_low_ms, bin * 250 + 250 AS bin_high_ms, count(*) AS pages,
       count(*) / sum(count(*)) OVER (PARTITION BY route) AS share
FROM p
GROUP BY route, bin
ORDER BY route, bin;
