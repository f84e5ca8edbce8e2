"""GA4 BigQuery export (``events_*`` tables) as newline-delimited JSON → events, page views,
sessions. One event per line, as ``bq extract --destination_format NEWLINE_DELIMITED_JSON``
writes it: INT64 values arrive as strings (``"event_timestamp":"1700000000123456"``); numbers
are accepted too; null fields may be written as ``null`` or left out. A number beyond 64 bits
is read exactly (not as a float) and kept as its digits wherever a value is kept as written;
as an INT64 field (timestamp, batch field, ``int_value``) it rejects the line.

Rules (the contract analysts rely on):

- **Every event** becomes an ``events`` row; ``page_view`` events also become ``page_views``.
- **Session id.** The custom event param named by ``options["session_param"]`` (default
  ``session_id``) carries the session id shared with traces and feedback: when an event has it,
  that value is the session id. Otherwise the GA4 session is used:
  ``pseudonymize(user_pseudo_id) + "." + ga_session_id``. This composite is kept in
  ``properties.ga4_session`` either way, and the load SQL moves the events of a GA4 session
  whose other events carried the shared id (in this file or in stored events of the same days)
  onto that shared id. Events with neither (no ``ga_session_id``, no shared id) keep
  ``session_id`` NULL: they stay in ``events`` but are in no session and no click path.
- **Event identity** (``event_key``): a keyed hash of the pseudonymised ``user_pseudo_id``,
  ``event_timestamp``, ``event_name`` and ``batch_event_index`` / ``batch_page_id`` /
  ``batch_ordering_id``; when no batch field is present (older exports) or there is no
  ``user_pseudo_id``, the full parameter set is added. INT64s are normalised first, so a
  string- and a number-encoded export of the same event agree, a re-loaded export changes
  nothing, and two distinct events at the same microsecond stay two; rows with the same
  identity are one event. The hash is keyed with the pseudonymisation key (the material holds
  a device id), so keys are stable for one database key.
- **Pages.** ``page_location`` → ``url`` (of the page view and of every event) without query
  string and fragment (they may hold personal data; the stored params are stripped the same
  way) and ``route`` through the shared route normalisation; ``page_referrer`` →
  ``referrer`` (stripped). ``load_ms`` comes from a custom load-time param
  (``options["load_param"]``, else ``page_load_ms``, ``load_ms``, ``load_time_ms``,
  ``page_load_time``) — never from ``engagement_time_msec``, which is
  engagement, not load time. The ``trace_id`` param (``options["trace_param"]``), else a W3C
  ``traceparent`` param → ``page_views.trace_id`` (lower-case).
- **Conversions.** A ``purchase`` converts its session; its revenue is
  ``ecommerce.purchase_revenue``, else the ``value`` param, stored as ``properties.revenue``.
  Session revenue is recomputed by the load SQL from the stored, deduplicated purchase events
  (one per ``transaction_id``), so loading a file twice never doubles it.
- **Privacy.** ``user_id`` and ``user_pseudo_id`` (a device/browser identifier) are
  pseudonymised before they are stored anywhere, rejects included; personal-looking params
  (``email``, ``user_id``, …) are pseudonymised too. ``sessions.user_id`` is the pseudonymised
  GA4 ``user_id`` only: a device id is not a user. A rejected line is stored re-serialised
  with the same values pseudonymised and page URLs stripped (``redact``).

The same rules run in DuckDB (``ga4_native``, ``models/stage/ga4_ndjson.sql``) for every file
it reads exactly as this parser does; any other file — one with a line to reject among
them — is parsed here, whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Reject, Source
from parallax.connectors.files import ga4_native
from parallax.connectors.files.analytics_rows import (
    EVENT_SCHEMA,
    PAGE_VIEW_SCHEMA,
    Bad,
    Columns,
    SessionAcc,
    dumps_json,
    event_key,
    first_line,
    loads_exact,
    mac_key,
    to_float,
)
from parallax.connectors.files.ga4_fields import (
    BATCH,
    LOAD_PARAMS,
    SESSION_PARAM,
    TRACE_PARAM,
    clean,
    dict_at,
    extras,
    id_text,
    opt_int,
    to_int,
    trace_id,
    unnest,
)
from parallax.connectors.files.parallel import line_chunks
from parallax.connectors.files.redact import Redactor, strip_url
from parallax.connectors.privacy import PII_ATTRIBUTE_KEYS
from parallax.errors import ConfigError, FormatError

__all__ = ["FORMATS"]

NAME = "ga4-ndjson"
CHUNK_ROWS = 50_000
_MIN_US, _MAX_US = 10**14, 4_102_444_800 * 10**6  # 1973 … 2100: anything else is not µs


def _sniff(head: bytes) -> bool:
    line = first_line(head)
    if not line.startswith(b"{"):
        return False
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        # A first event longer than the sniffed bytes: judge by its key names.
        truncated = b"\n" not in head.strip()
        return truncated and b'"event_name"' in line and b'"event_timestamp"' in line
    return (
        isinstance(obj, dict) and "event_name" in obj and "event_timestamp" in obj
        and any(k in obj for k in ("user_pseudo_id", "event_params", "event_date"))
    )


class _Ga4:
    def __init__(self, ctx: ParseContext) -> None:
        if ctx.fields:
            raise ConfigError("--field does not apply to GA4 exports: their fields are fixed "
                              "(use --session-param for the shared session id)")
        self.ctx = ctx
        opts = ctx.options
        self.session_param = opts.get("session_param") or SESSION_PARAM
        self.trace_param = opts.get("trace_param") or TRACE_PARAM
        lp = opts.get("load_param")
        self.load_params = (lp,) if lp else LOAD_PARAMS
        self.key = mac_key(ctx.pseudonymize.key)
        self.events = Columns(EVENT_SCHEMA)
        self.views = Columns(PAGE_VIEW_SCHEMA)
        self.sessions = SessionAcc(NAME)

    def add(self, rec: dict) -> None:
        ctx, pseud = self.ctx, self.ctx.pseudonymize
        name = rec.get("event_name")
        if not isinstance(name, str) or not name:
            raise Bad("missing event_name")
        if rec.get("event_timestamp") is None:
            raise Bad("missing event_timestamp")
        ts = to_int(rec["event_timestamp"], "event_timestamp")
        if not _MIN_US <= ts < _MAX_US:
            raise Bad(f"event_timestamp {ts} is not microseconds since 1970")
        params = unnest(rec.get("event_params"), "event_params")
        upid = pseud(id_text(rec.get("user_pseudo_id")))
        uid = pseud(id_text(rec.get("user_id")))
        # top-level fields; some older exports carried them as params
        batch = [opt_int(params.get(k) if rec.get(k) is None else rec[k], k) for k in BATCH]

        ga_sid = id_text(params.get("ga_session_id"))
        composite = f"{upid}.{ga_sid}" if upid and ga_sid else None
        session_id = id_text(params.get(self.session_param)) or composite

        material: list[Any] = [upid, ts, name, *batch]
        if upid is None or batch == [None, None, None]:
            material.append(params)
        key = event_key(self.key, material)

        location = params.get("page_location")
        location = location if isinstance(location, str) and location else None
        url = strip_url(location)
        referrer = strip_url(id_text(params.get("page_referrer")))
        route = ctx.route(location) if location else None

        kept = params
        if "page_location" in kept or "page_referrer" in kept:
            kept = dict(params)
            if "page_location" in kept:
                kept["page_location"] = url
            if "page_referrer" in kept:
                kept["page_referrer"] = referrer
        if not PII_ATTRIBUTE_KEYS.isdisjoint(kept):
            kept = pseud.scrub(kept)
        props: dict[str, Any] = {"ga4_session": composite, "user_pseudo_id": upid}
        if uid:
            props["user_id"] = uid
        props["params"] = kept
        device = dict_at(rec, "device")
        extras(rec, props, device, batch)
        if not PII_ATTRIBUTE_KEYS.isdisjoint(props.get("user_properties") or ()):
            props["user_properties"] = pseud.scrub(props["user_properties"])

        converted = False
        if name == "purchase":
            converted = True
            ecom = dict_at(rec, "ecommerce")
            revenue = to_float(ecom.get("purchase_revenue"), "ecommerce.purchase_revenue")
            if revenue is None:
                revenue = to_float(params.get("value"), "purchase value param")
            props["revenue"] = revenue
            props["currency"] = clean(params.get("currency"))
            props["transaction_id"] = clean(
                ecom.get("transaction_id") or params.get("transaction_id"))

        self.events.add(key, session_id, ts, name, url, route,
                        dumps_json(props).decode(), NAME)
        if session_id is None:
            return
        if name == "page_view":
            load_ms = next((v for p in self.load_params
                            if (v := to_float(params.get(p), lenient=True)) is not None), None)
            self.views.add(key, session_id, None, ts, url, route, referrer,
                           load_ms if load_ms is None or load_ms >= 0 else None,
                           trace_id(params, self.trace_param), NAME)
        geo = dict_at(rec, "geo")
        self.sessions.add(session_id, ts, uid, clean(device.get("category")),
                          clean(geo.get("country")), None, converted, 0.0)

    def take(self, records: int, rejects: list[Reject]) -> Iterator[Chunk]:
        yield Chunk("events", self.events.take(), records=records, rejects=tuple(rejects))
        yield Chunk("page_views", self.views.take())
        yield Chunk("sessions", self.sessions.take())


def _parse_lines(lines: Iterable[tuple[int, bytes]], ctx: ParseContext,
                 file_start: bool) -> Iterator[Chunk]:
    """Numbered lines → chunks; at the start of the file a garbage first record is fatal."""
    ga4 = _Ga4(ctx)
    redact = Redactor.of(ctx.pseudonymize, ("user_id", "user_pseudo_id"),
                         ("page_location", "page_referrer"))
    records, rejects, seen_first = 0, [], not file_start
    for lineno, line in lines:
        records += 1
        rec = None
        try:
            rec = loads_exact(line)
            if not isinstance(rec, dict):
                raise Bad("not a JSON object")
            ga4.add(rec)
        except (orjson.JSONDecodeError, Bad) as exc:
            reason = f"invalid JSON: {exc}" if rec is None else str(exc)
            if not seen_first and (rec is None or not isinstance(rec, dict)
                                   or "event_name" not in rec):
                raise FormatError(ctx.file, f"not a GA4 export event ({reason})",
                                  f"line {lineno}") from None
            raw = redact.record(rec, line)
            rejects.append(Reject(f"line {lineno}", reason, raw))
        seen_first = True
        if len(ga4.events) >= CHUNK_ROWS:
            yield from ga4.take(records, rejects)
            records, rejects = 0, []
    if not seen_first:
        raise FormatError(ctx.file, "no events: the file is empty")
    yield from ga4.take(records, rejects)


def _parse(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    return line_chunks(source, ctx, _parse_lines)


FORMATS = [
    FileFormat(NAME, "analytics", "events", _sniff, _parse,
               "GA4 BigQuery export (events_*), newline-delimited JSON",
               stage_native=ga4_native.stage),
]
