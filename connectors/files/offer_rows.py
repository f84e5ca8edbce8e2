"""One survey-offer record (the survey was shown to a session, answered or not) → a
``survey_offers`` row: canonical keys (offer_id, session_id, offered_at, survey, url,
user_id), timestamps read like page views', the user pseudonymised, the url stripped of its
query string, the route normalised (pulled pages: ``pull.records.offer_records``).

The offer key is the vendor's event id when it has one (PostHog's event uuid), else a keyed
hash of (session, time, survey): re-loading the same offers changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from parallax.connectors.base import Chunk, ParseContext, Reject
from parallax.connectors.files.analytics_rows import Bad, Columns, event_key, mac_key
from parallax.connectors.files.pageview_rows import _text, _timestamp
from parallax.connectors.files.redact import strip_url

__all__ = ["OFFER_SCHEMA", "Offers"]

OFFER_SCHEMA = pa.schema([
    ("offer_key", pa.string()), ("source", pa.string()), ("survey", pa.string()),
    ("session_id", pa.string()), ("user_id", pa.string()),
    ("offered_at", pa.timestamp("us", tz="UTC")), ("url", pa.string()), ("route", pa.string()),
])


class Offers:
    def __init__(self, ctx: ParseContext, source: str) -> None:
        self.ctx, self.source = ctx, source
        self.key = mac_key(ctx.pseudonymize.key)
        self.rows = Columns(OFFER_SCHEMA)

    def add(self, v: Mapping[str, Any]) -> None:
        sid = _text(v.get("session_id"))
        user = _text(v.get("user_id"))
        if sid is None and user is None:
            raise Bad("no session id and no user id: the offer meets no page load")
        raw_ts = v.get("offered_at")
        if raw_ts is None or raw_ts == "":
            raise Bad("missing timestamp")
        ts = _timestamp(raw_ts)
        survey = _text(v.get("survey"))
        raw_url = _text(v.get("url"))
        own = _text(v.get("offer_id"))
        key = own if own is not None else event_key(self.key, [sid, user, ts, survey])
        self.rows.add(key, self.source, survey, sid, self.ctx.pseudonymize(user), ts,
                      strip_url(raw_url), self.ctx.route(raw_url) if raw_url else None)

    def take(self, records: int, rejects: list[Reject]) -> Chunk:
        return Chunk("survey_offers", self.rows.take(), records=records, rejects=tuple(rejects))
