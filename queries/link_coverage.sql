-- link_coverage: per route, how the responses of the latest correlate run were linked to what
-- they got: their own session, the same user, the route's time window, or not at all.
-- No parameters.
SELECT coalesce(route, '(no route)') AS route, count(*) AS responses,
       round(avg((link = 'session')::INT) * 100, 1) AS session_pct,
       round(avg((link = 'user')::INT) * 100, 1) AS user_pct,
       round(avg((link = 'route_time')::INT) * 100, 1) AS route_time_pct,
       round(avg((link = 'none')::INT) * 100, 1) AS none_pct
FROM exposure_responses
GROUP BY ALL
ORDER BY responses DESC, route;
