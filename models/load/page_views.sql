-- load/page_views: move this load's staged page views into `page_views`, then number the
-- click paths of the sessions this load touched.
-- Natural key event_key. A staged `seq` marks a format whose identical rows are distinct
-- views (generic page-view files): their key gets the repeat number of that row in the
-- file (.0, .1, … in file order). A NULL staged seq (GA4) means identical rows are one event.
-- The key is a hash over the view's time, so stored copies are looked for within the staged
-- views' time range only (row groups outside it are skipped, as in load/spans.sql).
-- The first INSERT's count is the number of rows loaded.
SET VARIABLE parallax_lo = (SELECT min(viewed_at) - INTERVAL 1 DAY FROM stage_page_views);
SET VARIABLE parallax_hi = (SELECT max(viewed_at) + INTERVAL 1 DAY FROM stage_page_views);
INSERT INTO page_views BY NAME
SELECT * EXCLUDE (_rn) REPLACE (NULL::INTEGER AS seq)
FROM (
    SELECT *, row_number() OVER (PARTITION BY event_key) AS _rn
    FROM (
        SELECT * REPLACE (
            CASE WHEN seq IS NULL THEN event_key
                 ELSE event_key || '.'
                      || (row_number() OVER (PARTITION BY event_key ORDER BY seq) - 1)
            END AS event_key)
        FROM stage_page_views
    ) AS keyed
) AS s
WHERE _rn = 1
  AND NOT EXISTS (
      SELECT 1 FROM page_views AS t
      WHERE t.viewed_at BETWEEN getvariable('parallax_lo') AND getvariable('parallax_hi')
        AND t.event_key = s.event_key);

-- The GA4 composite / Snowplow domain session → shared session id map (events.sql);
-- empty for other formats.
CREATE TEMP TABLE IF NOT EXISTS _session_alias (own_session VARCHAR, shared VARCHAR);

UPDATE page_views SET session_id = a.shared
FROM _session_alias AS a
WHERE page_views.session_id = a.own_session;

-- seq: 1-based order by viewed_at (ties by event_key, so it is stable) in every touched
-- session — a session may span files, so its views are renumbered as a whole.
UPDATE page_views SET seq = r.seq
FROM (
    SELECT event_key,
           row_number() OVER (PARTITION BY session_id ORDER BY viewed_at, event_key) AS seq
    FROM page_views
    WHERE session_id IN (
        SELECT coalesce(a.shared, s.session_id)
        FROM stage_page_views AS s
        LEFT JOIN _session_alias AS a ON a.own_session = s.session_id
    )
) AS r
WHERE page_views.event_key = r.event_key
  AND page_views.seq IS DISTINCT FROM r.seq;
