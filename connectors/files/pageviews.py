"""Generic page-view exports, CSV or NDJSON, one page view per row → page_views, sessions.

Columns are found by common names (case, spaces and underscores ignored); ``--field
canonical=column`` overrides any of them:

| canonical  | column names (first found)                                           |
|------------|----------------------------------------------------------------------|
| session_id | session_id, sessionId, sid, session, visit_id — required             |
| viewed_at  | timestamp, viewed_at, time, ts, event_time, datetime — required;     |
|            | ISO 8601 (no offset: UTC) or epoch seconds / ms / µs / ns            |
| url        | url, page, page_url, page_location, page_path, path — required       |
| referrer   | referrer, referer, page_referrer                                     |
| load_ms    | load_ms, load_time, page_load_ms, load_time_ms, page_load_time       |
| trace_id   | trace_id, trace                                                      |
| user_id    | user_id, uid, user, customer_id                                      |
| device, country, segment, converted, revenue | those names (and a few variants)   |

Rules: ``url`` and ``referrer`` lose query string and fragment; ``route`` goes through the
shared route normalisation; ``user_id`` is pseudonymised. ``event_key`` = keyed hash of
(session_id, viewed_at, url) plus the repeat number of that triple in the file (the load SQL
adds it), so re-loading a file changes nothing while two identical rows stay two views.
Sessions: started/ended = first/last view; device, country, segment and user from the rows;
``converted`` = any row converted or with revenue > 0; ``revenue`` is a session attribute (the
largest value seen for the session: repeat it on every row or give it once — sum several
purchases beforehand), so loading a file twice never doubles it. A rejected row is kept in
``rejects.raw`` with the user column (and e-mail / IP columns) pseudonymised and the url and
referrer stripped, like stored rows (``redact``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from parallax.connectors.base import Chunk, ParseContext, Reject
from parallax.connectors.files.analytics_rows import (
    CHUNK_ROWS,
    PAGE_VIEW_SCHEMA,
    Bad,
    SessionAcc,
    event_key,
    to_float,
)
from parallax.connectors.files.redact import Redactor, strip_url
from parallax.connectors.files.row_files import RowSink, RowSpec, formats, text_value, when

__all__ = ["FORMATS", "SPEC", "Views", "redactor"]

_ALIASES: dict[str, tuple[str, ...]] = {
    "session_id": ("sessionid", "sid", "session", "visitid"),
    "viewed_at": ("timestamp", "viewedat", "time", "ts", "eventtime", "datetime"),
    "url": ("url", "page", "pageurl", "pagelocation", "pagepath", "path"),
    "referrer": ("referrer", "referer", "pagereferrer"),
    "load_ms": ("loadms", "loadtime", "pageloadms", "loadtimems", "pageloadtime"),
    "trace_id": ("traceid", "trace"),
    "user_id": ("userid", "uid", "user", "customerid"),
    "device": ("device", "devicecategory", "devicetype"),
    "country": ("country", "countrycode", "geocountry"),
    "segment": ("segment",),
    "converted": ("converted", "conversion", "isconverted"),
    "revenue": ("revenue", "purchaserevenue"),
}
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def _bool(v: Any) -> bool | None:
    if v is None or v == "":
        return None
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise Bad(f"converted is not a boolean: {v!r}"[:200])


class Views(RowSink):
    """Mapped rows → ``page_views`` rows and their sessions' aggregate (a ``row_files`` sink;
    the pulled pages of ``pull.records`` feed it too)."""

    def __init__(self, ctx: ParseContext, source: str) -> None:
        super().__init__(ctx, source, PAGE_VIEW_SCHEMA)
        self.sessions = SessionAcc(source)
        self.position = 0

    def add(self, v: Mapping[str, Any]) -> None:
        sid = text_value(v.get("session_id"))
        if sid is None:
            raise Bad("missing session id")
        ts = when(v, "viewed_at")
        raw_url = text_value(v.get("url"))
        if raw_url is None:
            raise Bad("missing url")
        load_ms = to_float(v.get("load_ms"), "load_ms")
        if load_ms is not None and load_ms < 0:
            raise Bad(f"load_ms is negative: {load_ms}")
        revenue = to_float(v.get("revenue"), "revenue") or 0.0
        converted = bool(_bool(v.get("converted"))) or revenue > 0
        url = strip_url(raw_url)
        trace = text_value(v.get("trace_id"))
        self.position += 1
        self.rows.add(event_key(self.key, [sid, ts, url]), sid, self.position, ts, url,
                       self.ctx.route(raw_url), strip_url(text_value(v.get("referrer"))),
                       load_ms, trace.lower() if trace else None, self.source)
        self.sessions.add(sid, ts, self.ctx.pseudonymize(text_value(v.get("user_id"))),
                          text_value(v.get("device")), text_value(v.get("country")),
                          text_value(v.get("segment")), converted, revenue)

    def full(self) -> bool:
        return len(self.rows) >= CHUNK_ROWS

    def take(self, records: int, rejects: list[Reject]) -> Iterator[Chunk]:
        yield Chunk("page_views", self.rows.take(), records=records, rejects=tuple(rejects))
        yield Chunk("sessions", self.sessions.take())


def redactor(ctx: ParseContext, found: Mapping[str, str] | None) -> Redactor:
    """Scrubs a rejected row; ``found`` None (no column mapping): any user-id-like key."""
    if found is None:
        users = (ctx.fields.get("user_id"), *_ALIASES["user_id"], "user_id", "userId")
        return Redactor.of(ctx.pseudonymize, users, ("url", "referrer"))
    return Redactor.of(ctx.pseudonymize, (found.get("user_id"),),
                       (found.get("url"), found.get("referrer")))


SPEC = RowSpec("page-view", _ALIASES, frozenset({"session_id", "url"}),
               redactor=redactor, empty="no page views: the file is empty",
               required=("session_id", "viewed_at", "url"))

FORMATS = formats(
    SPEC, Views, "page_views",
    ("pageviews-csv", "page views, CSV with a header (session, timestamp, url, … columns)"),
    ("pageviews-ndjson", "page views, one JSON object per line"))
