-- review_annotations: the incidents, deploys and design changes that overlap a window, as
-- `parallax annotate` recorded them.
-- Parameters: $since TIMESTAMPTZ (default NULL), $until TIMESTAMPTZ (default NULL)
SELECT *
FROM annotations
WHERE ($until::TIMESTAMPTZ IS NULL OR starts_at <= $until::TIMESTAMPTZ)
  AND ($since::TIMESTAMPTZ IS NULL OR coalesce(ends_at, starts_at) >= $since::TIMESTAMPTZ)
ORDER BY starts_at, id;
