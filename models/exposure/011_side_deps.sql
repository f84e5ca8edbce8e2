-- exposure_side_deps: per page load, the calls outside page loads attached to it
-- (exposure_side_links), in the shape of a page's deps and marked side: a failed beacon did
-- not make the page an error page, and its time was not part of the page's load (ms 0: a
-- healthy dependency would not have made the page faster).
-- No parameters.
CREATE OR REPLACE TABLE exposure_side_deps AS
SELECT page_key,
       list({'peer': peer, 'calls': calls, 'ms': 0.0::DOUBLE, 'failed': failed, 'side': true}
            ORDER BY peer) AS deps
FROM (SELECT page_key, peer, sum(calls)::BIGINT AS calls, bool_or(failed) AS failed
      FROM exposure_side_links
      WHERE page_key IS NOT NULL
      GROUP BY ALL)
GROUP BY page_key;
