-- routes/apply: write the new routes of the raw values in the temp table _route_map
-- (tbl, raw, route) — only rows whose route changes are touched, so an unchanged template set
-- costs nothing and a changed one rewrites only what it moved.
-- No parameters.
UPDATE spans SET route = m.route
FROM _route_map AS m
WHERE m.tbl = 'spans' AND spans.http_route = m.raw AND spans.route IS DISTINCT FROM m.route;

UPDATE page_views SET route = m.route
FROM _route_map AS m
WHERE m.tbl = 'page_views' AND page_views.url = m.raw
  AND page_views.route IS DISTINCT FROM m.route;

UPDATE feedback SET route = m.route
FROM _route_map AS m
WHERE m.tbl = 'feedback' AND feedback.page_url = m.raw
  AND feedback.route IS DISTINCT FROM m.route;

UPDATE events SET route = m.route
FROM _route_map AS m
WHERE m.tbl = 'events' AND events.url = m.raw
  AND events.route IS DISTINCT FROM m.route;
