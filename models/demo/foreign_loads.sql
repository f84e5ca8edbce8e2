-- Loads that did not come from a demo world's data files (pulled, received, or any other
-- file): `parallax demo` refuses to mix its world into such a database.
-- Parameters: $demo_files VARCHAR[] (the data files' paths under the demo folder)
SELECT count(*)
FROM loads
WHERE status = 'ok'
  AND (source <> 'file'
       OR NOT list_contains($demo_files,
                            regexp_extract(replace(coalesce(file, ''), '\', '/'), '[^/]+/[^/]+$')))
