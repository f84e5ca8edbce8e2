-- route_coverage: how many route templates the database holds (learned, declared) and the
-- share of page views and of survey responses whose route is one of them — the rest fell
-- back to the id heuristic (see route_unmatched).
-- No parameters.
WITH t AS (SELECT DISTINCT template FROM route_templates)
SELECT (SELECT count(*) FROM t) AS templates,
       (SELECT count(DISTINCT template) FROM route_templates WHERE source = 'learned') AS learned,
       (SELECT count(DISTINCT template) FROM route_templates WHERE source = 'config') AS declared,
       v.page_views, v.on_template AS page_views_on_template,
       round(v.on_template * 100.0 / nullif(v.page_views, 0), 1) AS page_views_pct,
       f.responses, f.on_template AS responses_on_template,
       round(f.on_template * 100.0 / nullif(f.responses, 0), 1) AS responses_pct
FROM (SELECT count(*) AS page_views,
             count(*) FILTER (WHERE route IN (SELECT template FROM t)) AS on_template
      FROM page_views) AS v,
     (SELECT count(*) AS responses,
             count(*) FILTER (WHERE route IN (SELECT template FROM t)) AS on_template
      FROM feedback) AS f;
