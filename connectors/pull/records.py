"""Formats for pulled pages whose vendor has no file export: JSON pages of survey answers or
of visits/events, mapped onto the same row builders the file formats use.

A vendor gives ``extract(page, ctx)``: its records as flat dicts (``(location, record)``
pairs). Feedback records then go through the generic feedback rules — columns found by common
names or ``fields``, metric from ``metric`` or the score's name, scales, the poor rule,
pseudonymisation (``survey``); page-view records carry canonical keys (session_id,
viewed_at, url, referrer, load_ms, user_id, device, country, converted, revenue) and go
through ``pageviews.Views`` (routes, keyed event ids, sessions). Same rules, same keys,
whether a row came from a file or an API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC
from functools import partial
from typing import Any

import orjson

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Reject, Source
from parallax.connectors.files import survey
from parallax.connectors.files.analytics_rows import Bad
from parallax.connectors.files.offers import Offers
from parallax.connectors.files.pageviews import Views, redactor
from parallax.connectors.files.row_files import Make
from parallax.errors import FormatError

__all__ = ["Extract", "feedback_chunks", "feedback_records", "offer_records", "pageview_records",
           "read_page"]

Extract = Callable[[Any, ParseContext], Iterable[tuple[str, dict[str, Any]]]]


def read_page(source: Source, ctx: ParseContext) -> Any:
    with source.open() as f:
        data = f.read()
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FormatError(ctx.file, f"not JSON: {exc}") from None


def _never(head: bytes) -> bool:
    return False  # pulled pages are loaded with their format named, never detected


def _parse_feedback(extract: Extract, source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    survey.check_fields(ctx)
    yield from feedback_chunks(list(extract(read_page(source, ctx), ctx)), ctx)


def feedback_chunks(records: list[tuple[str, dict[str, Any]]],
                    ctx: ParseContext) -> Iterator[Chunk]:
    """Flat survey records (location, record) through the generic feedback rules."""
    given = survey.check_fields(ctx)
    columns = survey.column_resolver(ctx, given)

    score_key = next((columns(r)["score"] for _, r in records if "score" in columns(r)), "")
    metric = given or survey.metric_of_name(score_key) or "rating"
    observed = {}
    if not ctx.options.get("scale") and metric == "rating":
        observed = survey.observe(((r, columns(r)) for _, r in records), metric)
    name = (ctx.options.get("source") or "").strip() or "feedback"
    rows = survey.FeedbackRows(ctx, survey.FileRules(name, metric,
                                                     survey.scales(ctx.options, observed), UTC))
    for where, rec in records:
        cols = columns(rec)
        raw = partial(lambda r, c: rows.redactor(c).line(orjson.dumps(r).decode()), rec, cols)
        if "score" not in cols:
            rows.reject(where, "no score in the record", raw)
            continue
        rows.add(where, rec, cols, raw)
    yield rows.take()


def _parse_rows(make: Make, extract: Extract, fmt_name: str, source: Source,
                ctx: ParseContext) -> Iterator[Chunk]:
    """Canonical-key records (page views, offers) through a file format's row sink. A page
    has no column mapping: a rejected record is scrubbed of every user-id-like key."""
    sink = make(ctx, fmt_name)
    records, rejects = 0, []
    for where, rec in extract(read_page(source, ctx), ctx):
        records += 1
        try:
            sink.add(rec)
        except Bad as exc:
            rejects.append(Reject(where, str(exc),
                                  redactor(ctx, None).record(rec, orjson.dumps(rec))))
    yield from sink.take(records, rejects)


def feedback_records(name: str, extract: Extract, description: str = "") -> FileFormat:
    return FileFormat(name, "feedback", "feedback", _never, partial(_parse_feedback, extract),
                      description)


def pageview_records(name: str, extract: Extract, description: str = "") -> FileFormat:
    return FileFormat(name, "analytics", "page_views", _never,
                      partial(_parse_rows, Views, extract, name), description)


def offer_records(name: str, extract: Extract, description: str = "") -> FileFormat:
    """Survey offers (shown, answered or not) → ``survey_offers`` (``offers.Offers``)."""
    return FileFormat(name, "analytics", "survey_offers", _never,
                      partial(_parse_rows, Offers, extract, name), description)
