-- incident_segments: who answered on the affected $routes before ([$from, $starts)) and during
-- ([$starts, $ends)) an incident, per level of device, country and segment (from the answer,
-- else its analytics session): responses and poor responses.
-- Parameters: $routes VARCHAR[], $from TIMESTAMPTZ, $starts TIMESTAMPTZ, $ends TIMESTAMPTZ
WITH f AS (
    SELECT CASE WHEN fb.submitted_at < $starts::TIMESTAMPTZ THEN 'before' ELSE 'during' END
               AS period, fb.is_poor,
           coalesce(fb.device, ses.device, '(unknown)') AS device,
           coalesce(fb.country, ses.country, '(unknown)') AS country,
           coalesce(fb.segment, ses.segment, '(unknown)') AS segment
    FROM feedback AS fb
    LEFT JOIN sessions AS ses ON ses.session_id = fb.session_id
    WHERE fb.is_poor IS NOT NULL AND list_contains($routes, fb.route)
      AND fb.submitted_at >= $from::TIMESTAMPTZ AND fb.submitted_at < $ends::TIMESTAMPTZ
)
SELECT factor, level, period, count(*) AS responses, count(*) FILTER (WHERE is_poor) AS poor
FROM (SELECT period, is_poor, 'device' AS factor, device AS level FROM f
      UNION ALL SELECT period, is_poor, 'country', country FROM f
      UNION ALL SELECT period, is_poor, 'segment', segment FROM f)
GROUP BY ALL
ORDER BY factor, level, period;
