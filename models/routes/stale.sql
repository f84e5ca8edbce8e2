-- routes/stale: how many rows routes/apply.sql is about to move in loads the page-level join
-- model (exposure_pages) has already folded in. Non-zero: that model must be rebuilt, since
-- it copied their routes; rows of the load in progress are folded in later anyway.
-- No parameters.
SELECT (SELECT count(*) FROM spans AS s
        JOIN _route_map AS m ON m.tbl = 'spans' AND s.http_route = m.raw
        WHERE s.route IS DISTINCT FROM m.route
          AND s.load_id IN (SELECT load_id FROM exposure_loads))
     + (SELECT count(*) FROM page_views AS v
        JOIN _route_map AS m ON m.tbl = 'page_views' AND v.url = m.raw
        WHERE v.route IS DISTINCT FROM m.route
          AND v.load_id IN (SELECT load_id FROM exposure_loads))
     + (SELECT count(*) FROM events AS e
        JOIN _route_map AS m
          ON m.tbl = 'events' AND e.url = m.raw
        WHERE e.route IS DISTINCT FROM m.route
          AND e.load_id IN (SELECT load_id FROM exposure_loads)) AS stale;
