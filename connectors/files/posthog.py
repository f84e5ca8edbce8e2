"""PostHog events → events (and sessions): one JSON event per line, as PostHog's batch exports
and ``posthog-js`` capture them, or one events API page (``{"next", "results": [events]}``,
posthog.com/docs/api/events). An event is ``{uuid|id, event, distinct_id, timestamp,
properties}``.

Rules:

- Every event becomes an ``events`` row: ``name`` = ``event``, ``occurred_at`` =
  ``timestamp`` (ISO 8601; no offset: UTC), ``session_id`` = ``properties.$session_id``,
  ``url`` = ``properties.$current_url`` without query string and fragment, ``route`` through
  the shared route normalisation. ``properties`` keeps the event's properties, with identifier
  values pseudonymised and every URL-valued property (``$current_url``, ``$referrer``, the
  ``$web_vitals_<M>_event.$current_url`` of the web-vitals extension, …) stripped the same way.
- Web vitals (``$web_vitals`` events: ``$web_vitals_LCP_value``, ``$web_vitals_LCP_event``
  {name, value, rating, delta, id}, …) are read from there by the ``web_vitals`` view.
- ``event_key`` = keyed hash of the event's uuid (else distinct_id, timestamp, name), so a
  re-loaded export changes nothing. ``distinct_id`` is pseudonymised (``properties.user_id``
  in storage); sessions get device (``$device_type``) and country (``$geoip_country_code``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Reject, Source
from parallax.connectors.files.analytics_rows import (
    EVENT_SCHEMA,
    Bad,
    Columns,
    SessionAcc,
    dumps_json,
    event_key,
    first_object,
    mac_key,
)
from parallax.connectors.files.redact import Redactor, strip_url
from parallax.connectors.privacy import PII_ATTRIBUTE_KEYS
from parallax.errors import FormatError

__all__ = ["FORMATS"]

NAME = "posthog-events"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _is_event(obj: Any) -> bool:
    return (isinstance(obj, dict) and "event" in obj and "timestamp" in obj
            and isinstance(obj.get("properties"), dict) and "distinct_id" in obj)


def _sniff(head: bytes) -> bool:
    obj = first_object(head)
    if obj is not None:
        return _is_event(obj)
    # an API page: the first event appears within the sniffed bytes
    text = head.lstrip()
    return (text.startswith(b"{") and b'"results"' in text and b'"distinct_id"' in text
            and b'"$session_id"' in text)


def _strip_urls(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _strip_urls(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_urls(v, key) for v in value]
    if isinstance(value, str) and ("url" in key.lower() or "referrer" in key.lower()
                                   or key in ("name", "$pathname")):
        return strip_url(value) if "://" in value or value.startswith("/") else value
    return value


def _micros(value: Any) -> int:
    if not isinstance(value, str) or not value.strip():
        raise Bad(f"timestamp is not an ISO 8601 text: {value!r}"[:200])
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Bad(f"unrecognised timestamp {value!r}"[:200]) from None
    dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _ONE_US


_ONE_US = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


class _Events:
    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.key = mac_key(ctx.pseudonymize.key)
        self.events = Columns(EVENT_SCHEMA)
        self.sessions = SessionAcc(NAME)

    def add(self, ev: Any) -> None:
        if not _is_event(ev):
            raise Bad("not a PostHog event (event, distinct_id, timestamp, properties)")
        name = ev["event"]
        if not isinstance(name, str) or not name:
            raise Bad("missing event name")
        ts = _micros(ev["timestamp"])
        props: dict[str, Any] = ev["properties"]
        pseud = self.ctx.pseudonymize
        user = pseud(str(ev["distinct_id"])) if ev["distinct_id"] not in (None, "") else None
        sid = props.get("$session_id")
        sid = str(sid) if sid not in (None, "") else None
        location = props.get("$current_url")
        location = location if isinstance(location, str) and location else None
        kept = _strip_urls({k: v for k, v in props.items() if k != "distinct_id"})
        if not PII_ATTRIBUTE_KEYS.isdisjoint(kept):
            kept = pseud.scrub(kept)
        if user:
            kept["user_id"] = user
        identity = ev.get("uuid") or ev.get("id")
        material = [identity] if identity else [user, ts, name, kept]
        self.events.add(event_key(self.key, material), sid, ts, name, strip_url(location),
                        self.ctx.route(location) if location else None,
                        dumps_json(kept).decode(), NAME)
        if sid is not None:
            device = props.get("$device_type")
            country = props.get("$geoip_country_code")
            self.sessions.add(sid, ts, None, device.lower() if isinstance(device, str) else None,
                              country if isinstance(country, str) else None, None, False, 0.0)

    def take(self, records: int, rejects: list[Reject]) -> Iterator[Chunk]:
        yield Chunk("events", self.events.take(), records=records, rejects=tuple(rejects))
        yield Chunk("sessions", self.sessions.take())


def _records(source: Source, ctx: ParseContext) -> Iterator[tuple[str, Any, bytes | None]]:
    with source.open() as f:
        data = f.read().removeprefix(b"\xef\xbb\xbf")
    first = data.lstrip()[:1]
    if first == b"{" and _page(data) is not None:
        for i, ev in enumerate(_page(data) or [], 1):
            yield f"record {i}", ev, None
        return
    for lineno, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            yield f"line {lineno}", orjson.loads(line), line
        except orjson.JSONDecodeError as exc:
            yield f"line {lineno}", exc, line


def _page(data: bytes) -> list | None:
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    results = obj.get("results") if isinstance(obj, dict) else None
    return results if isinstance(results, list) else None


def _parse(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    events = _Events(ctx)
    redact = Redactor.of(ctx.pseudonymize, ("distinct_id", "$user_id", "email"),
                         ("$current_url", "$referrer", "$initial_referrer"))
    records, rejects, seen = 0, [], False
    for where, ev, line in _records(source, ctx):
        records += 1
        try:
            if isinstance(ev, Exception):
                raise Bad(f"invalid JSON: {ev}")
            events.add(ev)
        except Bad as exc:
            if not seen:
                raise FormatError(ctx.file, f"not a PostHog event ({exc})", where) from None
            raw = redact.record(None if isinstance(ev, Exception) else ev,
                                line or orjson.dumps(ev))
            rejects.append(Reject(where, str(exc), raw))
        seen = True
    if not seen:
        raise FormatError(ctx.file, "no events: the file is empty")
    yield from events.take(records, rejects)


FORMATS = [
    FileFormat(NAME, "analytics", "events", _sniff, _parse,
               "PostHog events (one JSON event a line, or an events API page)"),
]
