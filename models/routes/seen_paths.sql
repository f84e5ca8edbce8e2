-- routes/seen_paths: each _route_seen row's concrete path reduced as connectors/routes.py
-- reduces paths (scheme, host, query and fragment removed, slashes collapsed, no trailing
-- slash, lower case), into its column path, which connectors/route_learning.py matches against
-- the taught templates and routes/learn.sql folds. Run after teach_load.sql or teach_all.sql.
-- No parameters.
ALTER TABLE _route_seen ADD COLUMN path VARCHAR;

UPDATE _route_seen SET path = regexp_replace(split_part(split_part(regexp_replace(
    concrete, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*', ''), '#', 1), '?', 1), '/+', '/', 'g');

UPDATE _route_seen SET path = CASE WHEN path IN ('', '/') THEN '/'
                                   ELSE lower(rtrim(path, '/')) END;
