"""Generic web-vitals files, CSV or NDJSON, one measurement per row → events named
``web_vital`` (the ``web_vitals`` view reads them) and sessions.

Columns are found by common names (case, spaces and underscores ignored); ``--field
canonical=column`` overrides any of them:

| canonical   | column names (first found)                                          |
|-------------|---------------------------------------------------------------------|
| session_id  | session_id, sessionId, sid, session, visit_id — required            |
| url         | url, page, page_url, page_location, page_path, path — required      |
| metric      | metric, metric_name, name, vital — required (LCP, INP, CLS, FCP, TTFB) |
| value       | value, metric_value — required (ms; CLS unitless)                   |
| measured_at | timestamp, measured_at, time, ts, event_time, datetime — required;  |
|             | ISO 8601 (no offset: UTC) or epoch seconds / ms / µs / ns           |
| rating      | rating, metric_rating                                               |
| metric_id   | metric_id, id (the web-vitals library's id: last report wins)        |
| device, user_id | those names (and a few variants)                                 |

A file is this format only if it has a metric and a value column beside session and url (a
page-view file has neither). ``url`` loses query string and fragment; ``route`` goes through
the shared route normalisation; ``user_id`` is pseudonymised. ``event_key`` = keyed hash of
(session, metric, metric_id or time, value), so a re-loaded file changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from parallax.connectors.base import Chunk, ParseContext, Reject
from parallax.connectors.files.analytics_rows import (
    EVENT_SCHEMA,
    Bad,
    SessionAcc,
    dumps_json,
    event_key,
    to_float,
)
from parallax.connectors.files.redact import Redactor, strip_url
from parallax.connectors.files.row_files import (
    Excluded,
    Found,
    RowSink,
    RowSpec,
    formats,
    lacking,
    text_value,
    when,
)

__all__ = ["FORMATS", "METRICS"]

METRICS = frozenset({"LCP", "INP", "CLS", "FCP", "TTFB"})
_ALIASES: dict[str, tuple[str, ...]] = {
    "session_id": ("sessionid", "sid", "session", "visitid"),
    "url": ("url", "page", "pageurl", "pagelocation", "pagepath", "path"),
    "metric": ("metric", "metricname", "name", "vital"),
    "value": ("value", "metricvalue"),
    "measured_at": ("timestamp", "measuredat", "time", "ts", "eventtime", "datetime"),
    "rating": ("rating", "metricrating"),
    "metric_id": ("metricid", "id"),
    "device": ("device", "devicecategory", "devicetype"),
    "user_id": ("userid", "uid", "user", "customerid"),
}
# Measured by older web-vitals versions, replaced by INP (March 2024) and not rated here: such
# rows are kept out by policy (stored and counted, not counted against the reject rate).
_RETIRED = frozenset({"FID"})


class _Retired(Excluded):
    """A row of a metric Parallax does not rate."""


def _missing(spec: RowSpec, found: Found, fields: Mapping[str, str],
             names: list[str]) -> str | None:
    """The first required column not found, with the columns there are (a --field column
    the file lacks is that field not found)."""
    problem = lacking(spec, found)
    return f"{problem}; columns: {', '.join(names)}" if problem else None


def _redactor(ctx: ParseContext, found: Found | None) -> Redactor:
    found = found or {}
    return Redactor.of(ctx.pseudonymize, (found.get("user_id"), "user_id"),
                       (found.get("url"), "url"))


class _Vitals(RowSink):
    """Mapped rows → ``web_vital`` events and sessions (a ``row_files`` sink)."""

    def __init__(self, ctx: ParseContext, source: str) -> None:
        super().__init__(ctx, source, EVENT_SCHEMA)
        self.sessions = SessionAcc(source)

    def add(self, v: Mapping[str, Any]) -> None:
        sid = text_value(v.get("session_id"))
        if sid is None:
            raise Bad("missing session id")
        raw_url = text_value(v.get("url"))
        if raw_url is None:
            raise Bad("missing url")
        metric = (text_value(v.get("metric")) or "").upper()
        if metric in _RETIRED:
            raise _Retired(f"metric {metric} is retired (replaced by INP): not rated")
        if metric not in METRICS:
            raise Bad(f"metric {v.get('metric')!r} is not one of {', '.join(sorted(METRICS))}"
                      [:200])
        value = to_float(v.get("value"), "value")
        if value is None or value < 0:
            raise Bad(f"value must be a number >= 0: {v.get('value')!r}"[:200])
        ts = when(v, "measured_at")
        metric_id = text_value(v.get("metric_id"))
        props = {"metric": metric, "value": value, "rating": text_value(v.get("rating")),
                 "metric_id": metric_id}
        key = event_key(self.key, [sid, metric, metric_id or ts, value])
        self.rows.add(key, sid, ts, "web_vital", strip_url(raw_url), self.ctx.route(raw_url),
                        dumps_json(props).decode(), self.source)
        device = text_value(v.get("device"))
        self.sessions.add(sid, ts, self.ctx.pseudonymize(text_value(v.get("user_id"))),
                          device.lower() if device else None, None, None, False, 0.0)

    def take(self, records: int, rejects: list[Reject]) -> Iterator[Chunk]:
        yield Chunk("events", self.rows.take(), records=records, rejects=tuple(rejects))
        yield Chunk("sessions", self.sessions.take())


# A file is web vitals only with a metric and a value column beside session and url (a
# page-view file has neither); every record must have them (it is rejected saying which).
SPEC = RowSpec("web-vitals", _ALIASES, frozenset({"session_id", "url", "metric", "value"}),
               redactor=_redactor, empty="no measurements: the file is empty",
               required=("session_id", "url", "metric", "value", "measured_at"),
               missing=_missing, each_record=True)

FORMATS = formats(
    SPEC, _Vitals, "events",
    ("web-vitals-csv", "web vitals, CSV with a header (session, url, metric, value, timestamp)"),
    ("web-vitals-ndjson",
     "web vitals, one JSON object per line (session, url, metric, value, timestamp)"))
