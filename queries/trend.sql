-- trend: before and after on some routes, per time bucket: page loads, the share with an
-- error, p75 load time, survey answers and the share of them poor (the pictures of
-- `incident --html` and `design-check --html`).
-- Parameters: $routes VARCHAR (comma-separated routes), $since TIMESTAMPTZ (default NULL),
--             $until TIMESTAMPTZ (default NULL), $bucket_minutes INTEGER (default 360)
WITH pages AS (
    SELECT time_bucket(to_minutes($bucket_minutes::BIGINT), started_at) AS bucket_start,
           count(*) AS pages,
           count(*) FILTER (WHERE error_seen) / count(*) AS error_rate,
           quantile_cont(load_ms, 0.75) AS p75_ms
    FROM exposure_pages
    WHERE list_contains(string_split($routes::VARCHAR, ','), route)
      AND ($since::TIMESTAMPTZ IS NULL OR started_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR started_at < $until::TIMESTAMPTZ)
    GROUP BY ALL
), answers AS (
    SELECT time_bucket(to_minutes($bucket_minutes::BIGINT), submitted_at) AS bucket_start,
           count(*) AS responses,
           avg(is_poor::INTEGER) AS poor_rate
    FROM feedback
    WHERE list_contains(string_split($routes::VARCHAR, ','), route) AND is_poor IS NOT NULL
      AND ($since::TIMESTAMPTZ IS NULL OR submitted_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR submitted_at < $until::TIMESTAMPTZ)
    GROUP BY ALL
)
SELECT bucket_start, coalesce(pages, 0) AS pages, error_rate, p75_ms,
       coalesce(responses, 0) AS responses, poor_rate
FROM pages FULL JOIN answers USING (bucket_start)
ORDER BY bucket_start;
