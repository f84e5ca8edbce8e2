-- incident_series: per time bin (bin 0 starts at $origin, $bin_minutes wide; negative bins
-- before it) what the counterfactual model reads, for the affected $routes and the rest:
--   pages / pages_other          page loads on the affected routes / on every other route
--   responses, poor (and _other) survey answers (with a score) submitted on those routes
--   nps                          how many of those answers are NPS answers
--   sessions, conversions        sessions with a page load on the affected routes (in
--                                [$from, $to)), in the bin of their first such page in the
--                                window (bins >= 0) if they have one, else of their first;
--                                how many converted (analytics) and their revenue. Every
--                                session counts, the ones the analytics export lacks too (it
--                                may miss a session that left on an untagged error page):
--                                a session that could not reach the checkout did not convert
-- Parameters: $routes VARCHAR[], $origin TIMESTAMPTZ, $bin_minutes INTEGER,
--             $from TIMESTAMPTZ, $to TIMESTAMPTZ
WITH p AS (
    SELECT floor(date_diff('second', $origin::TIMESTAMPTZ, started_at)
                 / ($bin_minutes * 60.0))::BIGINT AS bin,
           list_contains($routes, route) AS hit, session_id, started_at
    FROM exposure_pages
    WHERE started_at >= $from::TIMESTAMPTZ AND started_at < $to::TIMESTAMPTZ
),
f AS (
    SELECT floor(date_diff('second', $origin::TIMESTAMPTZ, submitted_at)
                 / ($bin_minutes * 60.0))::BIGINT AS bin,
           list_contains($routes, route) AS hit, is_poor, metric = 'nps' AS nps
    FROM feedback
    WHERE is_poor IS NOT NULL AND route IS NOT NULL
      AND submitted_at >= $from::TIMESTAMPTZ AND submitted_at < $to::TIMESTAMPTZ
),
s AS (
    SELECT coalesce(min(p.bin) FILTER (WHERE p.bin >= 0), min(p.bin)) AS bin,
           coalesce(any_value(ses.converted), false) AS converted,
           any_value(ses.revenue) AS revenue
    FROM p LEFT JOIN sessions AS ses USING (session_id)
    WHERE p.hit AND p.session_id IS NOT NULL
    GROUP BY p.session_id
),
bins AS (
    SELECT bin FROM p UNION SELECT bin FROM f
)
SELECT b.bin,
       coalesce(pg.pages, 0) AS pages, coalesce(pg.pages_other, 0) AS pages_other,
       coalesce(fb.responses, 0) AS responses, coalesce(fb.poor, 0) AS poor,
       coalesce(fb.responses_other, 0) AS responses_other,
       coalesce(fb.poor_other, 0) AS poor_other,
       coalesce(fb.nps, 0) AS nps,
       coalesce(se.sessions, 0) AS sessions, coalesce(se.conversions, 0) AS conversions,
       coalesce(se.revenue, 0) AS revenue
FROM bins AS b
LEFT JOIN (SELECT bin, count(*) FILTER (WHERE hit) AS pages,
                  count(*) FILTER (WHERE NOT hit) AS pages_other
           FROM p GROUP BY bin) AS pg USING (bin)
LEFT JOIN (SELECT bin, count(*) FILTER (WHERE hit) AS responses,
                  count(*) FILTER (WHERE hit AND is_poor) AS poor,
                  count(*) FILTER (WHERE hit AND nps) AS nps,
                  count(*) FILTER (WHERE NOT hit) AS responses_other,
                  count(*) FILTER (WHERE NOT hit AND is_poor) AS poor_other
           FROM f GROUP BY bin) AS fb USING (bin)
LEFT JOIN (SELECT bin, count(*) AS sessions, count(*) FILTER (WHERE converted) AS conversions,
                  sum(revenue) FILTER (WHERE converted) AS revenue
           FROM s GROUP BY bin) AS se USING (bin)
ORDER BY b.bin;
