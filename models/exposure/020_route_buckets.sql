-- exposure_route_buckets: the delivered experience of each route per time bucket — what the
-- route-and-time link reads, so a response without a key meets a few bucket rows, never raw
-- spans. Sums, not means, so any window of buckets aggregates exactly.
--   log_load_sum   sum of ln(load seconds) over pages with a load time (log_load_n of them).
--                  A time that is only the server span's is a floor on another scale: it
--                  counts only when no page anywhere has a browser or analytics timing.
--   errors         pages with error_seen (error_known pages have a known error state)
--   deps           per dependency: pages calling it, pages where it failed, failed pages that
--                  still came back fine (served), and the summed calls and call time; calls
--                  made outside the page load (exposure_side_deps) count for the page they
--                  followed, always served (a failed beacon makes no error page)
-- Parameters: $bucket_minutes INTEGER, $since TIMESTAMPTZ, $until TIMESTAMPTZ (NULL = open)
CREATE OR REPLACE TABLE exposure_route_buckets AS
WITH timing AS (  -- does any page have a browser or analytics timing?
    SELECT coalesce(bool_or(load_source <> 'server'), false) AS client_timed FROM exposure_pages
),
p AS (
    SELECT route, page_key, error_seen, deps,
           CASE WHEN load_source <> 'server' OR NOT (SELECT client_timed FROM timing)
                THEN load_ms END AS load_ms,
           -- time_bucket() in portable arithmetic: whole buckets from its default origin
           -- (2000-01-03 00:00 UTC = 946857600 s after the epoch)
           to_timestamp(floor((epoch(started_at) - 946857600) / (60 * $bucket_minutes))
                        * (60 * $bucket_minutes) + 946857600) AS bucket_start
    FROM exposure_pages
    WHERE ($since::TIMESTAMPTZ IS NULL OR started_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR started_at < $until::TIMESTAMPTZ)
),
calls AS (  -- each page's calls, then the calls outside page loads attached to it
    -- (exposure_side_deps: always served), unnested as they are, as in 040: rebuilding every
    -- page's list of calls to append the few outside ones cost more than the aggregates
    SELECT route, bucket_start, error_seen, d.peer AS peer, d.calls AS calls, d.ms AS ms,
           d.failed AS failed, false AS side
    FROM (SELECT route, bucket_start, error_seen, unnest(deps) AS d FROM p)
    UNION ALL
    SELECT route, bucket_start, error_seen, d.peer, d.calls, d.ms, d.failed, d.side
    FROM (SELECT p.route, p.bucket_start, p.error_seen, unnest(sd.deps) AS d
          FROM p JOIN exposure_side_deps AS sd USING (page_key))
),
per_dep AS (
    SELECT route, bucket_start, peer,
           count(*) AS pages, count(*) FILTER (WHERE failed) AS failed,
           count(*) FILTER (WHERE failed AND (side OR NOT coalesce(error_seen, false)))
               AS failed_served,
           sum(calls) AS calls, sum(ms) AS ms
    FROM calls
    GROUP BY ALL
),
dep_lists AS (
    SELECT route, bucket_start,
           list({'peer': peer, 'pages': pages, 'failed': failed,
                 'failed_served': failed_served, 'calls': calls, 'ms': ms}) AS deps
    FROM per_dep
    GROUP BY ALL
)
SELECT b.route, b.bucket_start, b.bucket_start + $bucket_minutes * INTERVAL 1 MINUTE AS bucket_end,
       b.pages, b.log_load_sum, b.log_load_n, b.errors, b.error_known,
       coalesce(d.deps, []) AS deps
FROM (
    SELECT route, bucket_start, count(*) AS pages,
           sum(ln(load_ms / 1000.0)) FILTER (WHERE load_ms > 0) AS log_load_sum,
           count(*) FILTER (WHERE load_ms > 0) AS log_load_n,
           count(*) FILTER (WHERE error_seen) AS errors,
           count(error_seen) AS error_known
    FROM p
    GROUP BY ALL
) AS b
LEFT JOIN dep_lists AS d USING (route, bucket_start);
