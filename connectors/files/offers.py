"""Generic survey-offer exports, CSV or NDJSON, one offer (the survey was shown) per row →
``survey_offers``. For survey tools whose impressions reach no analytics stream; GA4 custom
events need no file of their own (``[selection] offer_events``).

Columns are found by common names (case, spaces and underscores ignored); ``--field
canonical=column`` overrides any of them:

| canonical  | column names (first found)                                              |
|------------|-------------------------------------------------------------------------|
| offered_at | offered_at, shown_at, displayed_at, impression_at, impression_time —    |
|            | required; ISO 8601 (no offset: UTC) or epoch seconds / ms / µs / ns      |
| session_id | session_id, sessionId, sid, session — this or user_id required per row  |
| user_id    | user_id, uid, user, customer_id (pseudonymised)                         |
| survey     | survey, survey_id, surveyId                                             |
| url        | url, page, page_url, page_location                                      |
| offer_id   | offer_id, impression_id, event_id (else a keyed hash is the key)        |

A file is taken for offers only when it has an ``offered_at`` column under one of those names
(a page-view file has none). A bad row is rejected with its reason, the user column
pseudonymised and the url stripped, like stored rows.

The offer key is the vendor's event id when it has one (PostHog's event uuid), else a keyed
hash of (session, time, survey): re-loading the same offers changes nothing. Pulled pages
(``pull.records.offer_records``) go through the same ``Offers``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa

from parallax.connectors.base import Chunk, ParseContext, Reject
from parallax.connectors.files.analytics_rows import Bad, event_key
from parallax.connectors.files.redact import Redactor, strip_url
from parallax.connectors.files.row_files import (
    Found,
    RowSink,
    RowSpec,
    formats,
    text_value,
    when,
)

__all__ = ["FORMATS", "OFFER_SCHEMA", "SPEC", "Offers"]

OFFER_SCHEMA = pa.schema([
    ("offer_key", pa.string()), ("source", pa.string()), ("survey", pa.string()),
    ("session_id", pa.string()), ("user_id", pa.string()),
    ("offered_at", pa.timestamp("us", tz="UTC")), ("url", pa.string()), ("route", pa.string()),
])
_ALIASES: dict[str, tuple[str, ...]] = {
    "offered_at": ("offeredat", "shownat", "displayedat", "impressionat", "impressiontime"),
    "session_id": ("sessionid", "sid", "session"),
    "user_id": ("userid", "uid", "user", "customerid"),
    "survey": ("survey", "surveyid"),
    "url": ("url", "page", "pageurl", "pagelocation"),
    "offer_id": ("offerid", "impressionid", "eventid"),
}
_KIND = "survey-offer"


def _missing(spec: RowSpec, found: Found, fields: Mapping[str, str],
             names: list[str]) -> str | None:
    """A file needs an offer time and a session or user id column: an offer with neither
    id meets no page load."""
    if "offered_at" in found and {"session_id", "user_id"} & found.keys():
        return None
    # The refusal, "not a survey-offer file: " included, stays within 400 characters.
    return (f"it needs an offered_at column ({', '.join(_ALIASES['offered_at'])}) and a "
            f"session or user id; columns: {', '.join(names)}"[:400 - len(f"not a {_KIND} file: ")])


def _redactor(ctx: ParseContext, found: Found | None) -> Redactor:
    found = found or {}
    return Redactor.of(ctx.pseudonymize, (found.get("user_id"),), (found.get("url"),))


class Offers(RowSink):
    """Mapped rows → ``survey_offers`` rows (a ``row_files`` sink; pulled pages too)."""

    def __init__(self, ctx: ParseContext, source: str) -> None:
        super().__init__(ctx, source, OFFER_SCHEMA)

    def add(self, v: Mapping[str, Any]) -> None:
        sid = text_value(v.get("session_id"))
        user = text_value(v.get("user_id"))
        if sid is None and user is None:
            raise Bad("no session id and no user id: the offer meets no page load")
        ts = when(v, "offered_at")
        survey = text_value(v.get("survey"))
        raw_url = text_value(v.get("url"))
        own = text_value(v.get("offer_id"))
        key = own if own is not None else event_key(self.key, [sid, user, ts, survey])
        self.rows.add(key, self.source, survey, sid, self.ctx.pseudonymize(user), ts,
                      strip_url(raw_url), self.ctx.route(raw_url) if raw_url else None)

    def take(self, records: int, rejects: list[Reject]) -> Iterator[Chunk]:
        yield Chunk("survey_offers", self.rows.take(), records=records, rejects=tuple(rejects))


SPEC = RowSpec(_KIND, _ALIASES, frozenset({"offered_at"}), redactor=_redactor,
               empty="no survey offers: the file is empty", missing=_missing,
               first_decides=False)

FORMATS = formats(
    SPEC, Offers, "survey_offers",
    ("offers-csv", "survey offers (the survey was shown), CSV with a header"),
    ("offers-ndjson", "survey offers (the survey was shown), one JSON object per line"))
