-- 011_run_templates: how many of a correlate run's responses and page views landed on a route
-- template (learned or declared); the rest fell back to the id heuristic and may split one
-- page into many routes. {responses, responses_on_template, page_views,
-- page_views_on_template}; NULL for runs stored before it was kept.
ALTER TABLE correlate_runs ADD COLUMN route_templates JSON;
