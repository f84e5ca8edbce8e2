"""Snowplow enriched events → events, page views, sessions: ``snowplow-tsv`` (the 131-field
tab-separated enriched event that enrich writes to the stream or S3) and ``snowplow-json``
(the wide row a Snowplow loader or the analytics SDKs write: one JSON object per line, the
same fields typed, contexts as ``contexts_<vendor>_<name>_<major>`` lists).

Rules:

- **Every event** becomes an ``events`` row named ``event_name`` (``link_click`` for an
  ``unstruct`` event), else ``event``; ``page_view`` events also become ``page_views``.
- **A malformed TSV line** (not 131 fields) is a reject with the count, as Snowplow's own
  loaders and SDKs refuse it; so is a line without ``event_id`` or with a bad timestamp.
- **Time**: ``derived_tstamp`` (the device clock corrected by the collector's), else
  ``collector_tstamp``; no offset means UTC; nanoseconds are cut to microseconds.
- **Session id**: the custom context value named by ``options["session_param"]`` (default
  ``session_id``: that key in any context not Snowplow's own; ``name.key`` pins the context
  ``name``) — the session id shared with traces and feedback — else ``domain_sessionid``,
  which is kept in ``properties.snowplow_session`` either way. An event with neither stays
  in ``events`` only. Events of one ``domain_sessionid`` that lack the context (a landing
  page viewed before the site set it) are moved onto the shared id its other events carry,
  in this file or stored ones of the same days, by the load SQL (as GA4's sessions are).
- **Identity**: ``event_key`` = keyed hash of ``event_id`` (Snowplow's own event identity),
  so a re-loaded file, or the same events as TSV and as wide rows, change nothing.
- **Pages**: ``page_url`` (else ``page_urlpath``) → ``url`` without query and fragment, and
  ``route`` through the shared normalisation; ``page_referrer`` → ``referrer`` (stripped);
  ``load_ms`` ← the PerformanceTiming context (``loadEventEnd − navigationStart``);
  ``trace_id`` ← the context value ``options["trace_param"]`` (default ``trace_id``).
- **Sessions**: ``user_id`` pseudonymised (``domain_userid`` is a browser cookie, kept
  pseudonymised in properties, not a user); device ← ``dvce_ismobile`` / ``dvce_type``;
  country ← ``geo_country``; a ``transaction`` event converts its session with ``tr_total``.
- **Privacy**: ``user_id``, ``domain_userid``, ``network_userid``, ``user_fingerprint`` are
  pseudonymised where kept; the IP address is not kept. A rejected line is stored with those
  fields pseudonymised and URLs stripped; of a line whose fields do not line up, only its
  leading fields up to ``event_id`` and its field count are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Reject, Source
from parallax.connectors.files.analytics_rows import (
    CHUNK_ROWS,
    EVENT_SCHEMA,
    PAGE_VIEW_SCHEMA,
    Bad,
    Columns,
    SessionAcc,
    event_key,
    first_object,
    mac_key,
    to_float,
)
from parallax.connectors.files.ga4_fields import SESSION_PARAM, TRACE_PARAM
from parallax.connectors.files.lines import numbered_lines, strip_bom
from parallax.connectors.files.redact import Redactor, strip_url
from parallax.connectors.files.snowplow_fields import (
    FIELDS,
    INDEX,
    context_value,
    contexts,
    device,
    load_ms,
    timestamp,
)
from parallax.errors import ConfigError, FormatError

__all__ = ["FORMATS"]

TSV, JSON = "snowplow-tsv", "snowplow-json"
_IDS = ("user_id", "user_ipaddress", "user_fingerprint", "domain_userid", "network_userid",
        "refr_domain_userid")
_URLS = ("page_url", "page_referrer")
_HIDDEN = ("page_urlquery", "page_urlfragment", "refr_urlquery", "refr_urlfragment")
_JSON_COLUMNS = ("contexts", "derived_contexts", "unstruct_event")


def _uuid_like(value: str) -> bool:
    return len(value) == 36 and value.count("-") == 4


def _sniff_tsv(head: bytes) -> bool:
    # Not ``first_line``: it strips the trailing empty fields (tabs) that the count needs.
    line = strip_bom(head).split(b"\n", 1)[0].rstrip(b"\r")
    cells = line.split(b"\t")
    whole = b"\n" in head.strip() or len(cells) == len(FIELDS)
    # A first line longer than the sniffed bytes is judged by the columns it shows.
    fits = len(cells) == len(FIELDS) if whole else len(cells) > INDEX["event_id"]
    return fits and _uuid_like(cells[INDEX["event_id"]].decode("ascii", "replace"))


def _sniff_json(head: bytes) -> bool:
    obj = first_object(head)
    return (obj is not None and {"event_id", "collector_tstamp", "v_collector"} <= obj.keys()
            and "event_timestamp" not in obj)


class _Events:
    def __init__(self, ctx: ParseContext, source: str) -> None:
        if ctx.fields:
            raise ConfigError("--field does not apply to Snowplow events: their fields are "
                              "fixed (use --session-param for a shared session id)")
        self.ctx, self.source = ctx, source
        self.session_param = ctx.options.get("session_param") or SESSION_PARAM
        self.trace_param = ctx.options.get("trace_param") or TRACE_PARAM
        self.key = mac_key(ctx.pseudonymize.key)
        self.events = Columns(EVENT_SCHEMA)
        self.views = Columns(PAGE_VIEW_SCHEMA)
        self.sessions = SessionAcc(source)

    def add(self, rec: dict[str, Any]) -> None:
        pseud, ctx = self.ctx.pseudonymize, self.ctx
        event_id = _text(rec.get("event_id"))
        if event_id is None:
            raise Bad("missing event_id")
        kind = _text(rec.get("event"))
        name = _text(rec.get("event_name")) or kind
        if name is None:
            raise Bad("missing event")
        raw_ts = _text(rec.get("derived_tstamp"))
        what = "derived_tstamp"
        if raw_ts is None:
            raw_ts, what = _text(rec.get("collector_tstamp")), "collector_tstamp"
        if raw_ts is None:
            raise Bad("missing collector_tstamp")
        ts = timestamp(raw_ts, what)
        found = contexts(rec)
        domain_session = _text(rec.get("domain_sessionid"))
        session_id = _text(context_value(found, self.session_param)) or domain_session

        raw_url = _text(rec.get("page_url")) or _text(rec.get("page_urlpath"))
        url = strip_url(raw_url)
        route = ctx.route(raw_url) if raw_url else None
        uid = pseud(_text(rec.get("user_id")))
        props: dict[str, Any] = {k: v for k, v in {
            "event_id": event_id, "event": kind, "app_id": _text(rec.get("app_id")),
            "platform": _text(rec.get("platform")),
            "event_vendor": _text(rec.get("event_vendor")),
            "event_version": _text(rec.get("event_version")),
            "page_title": _text(rec.get("page_title")), "snowplow_session": domain_session,
            "domain_userid": pseud(_text(rec.get("domain_userid"))),
            "network_userid": pseud(_text(rec.get("network_userid"))), "user_id": uid,
            "contexts": sorted({f"{v}/{n}" for v, n, _ in found}) or None,
        }.items() if v is not None}
        converted, revenue = kind == "transaction", 0.0
        if converted:
            revenue = to_float(rec.get("tr_total"), "tr_total") or 0.0
            props["revenue"] = revenue
            props["transaction_id"] = _text(rec.get("tr_orderid"))
        key = event_key(self.key, ["snowplow", event_id])
        self.events.add(key, session_id, ts, name, url, route, orjson.dumps(props).decode(),
                        self.source)
        if session_id is None:
            return
        if name == "page_view":
            trace = _text(context_value(found, self.trace_param))
            self.views.add(key, session_id, None, ts, url, route,
                           strip_url(_text(rec.get("page_referrer"))), load_ms(found),
                           trace.lower() if trace else None, self.source)
        self.sessions.add(session_id, ts, uid, device(rec), _text(rec.get("geo_country")),
                          None, converted, revenue)

    def take(self, records: int, rejects: list[Reject]) -> Iterator[Chunk]:
        yield Chunk("events", self.events.take(), records=records, rejects=tuple(rejects))
        yield Chunk("page_views", self.views.take())
        yield Chunk("sessions", self.sessions.take())


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    s = str(value).strip()
    return s or None


def _tsv_record(cells: list[str]) -> dict[str, Any]:
    rec: dict[str, Any] = dict(zip(FIELDS, cells, strict=True))
    for column in _JSON_COLUMNS:
        if rec[column]:
            try:
                rec[column] = orjson.loads(rec[column])
            except orjson.JSONDecodeError as exc:
                raise Bad(f"{column} is not JSON: {exc}"[:200]) from None
    return rec


def _parse(source: Source, ctx: ParseContext, fmt: str) -> Iterator[Chunk]:
    events = _Events(ctx, fmt)
    redact = Redactor.of(ctx.pseudonymize, _IDS, _URLS, _HIDDEN)
    records, rejects, seen_first = 0, [], False
    with source.open() as f:
        for lineno, raw in numbered_lines(f):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line.strip():
                continue
            records += 1
            cells, rec = None, None
            try:
                if fmt == TSV:
                    cells = line.split("\t")
                    if len(cells) != len(FIELDS):
                        raise Bad(f"expected {len(FIELDS)} fields, found {len(cells)}")
                    rec = _tsv_record(cells)
                else:
                    try:
                        rec = orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        raise Bad(f"invalid JSON: {exc}") from None
                    if not isinstance(rec, dict):
                        raise Bad("not a JSON object")
                events.add(rec)
            except Bad as exc:
                if not seen_first:
                    raise FormatError(ctx.file, f"not a Snowplow enriched event ({exc})",
                                      f"line {lineno}") from None
                rejects.append(Reject(f"line {lineno}", str(exc), _scrub(redact, ctx, cells,
                                                                         rec, line)))
            seen_first = True
            if len(events.events) >= CHUNK_ROWS:
                yield from events.take(records, rejects)
                records, rejects = 0, []
    if not seen_first:
        raise FormatError(ctx.file, "no events: the file is empty")
    yield from events.take(records, rejects)


def _scrub(redact: Redactor, ctx: ParseContext, cells: list[str] | None, rec: Any,
           line: str) -> str:
    if cells is not None and len(cells) == len(FIELDS):
        return redact.cells(FIELDS, cells, "\t")
    if cells is None and isinstance(rec, dict):
        return redact.record(rec, line)
    if cells is not None:
        # Fields that do not line up: which one is the user is unknown, so only the leading
        # fields that find the event (app, platform, times, event, event_id) are kept.
        head = "\t".join(cells[:INDEX["event_id"] + 1])
        return f"{redact.text(head)}\t… ({len(cells)} fields)"
    return ctx.pseudonymize.redact_text(redact.text(line)) or ""


FORMATS = [
    FileFormat(TSV, "analytics", "events", _sniff_tsv,
               lambda source, ctx: _parse(source, ctx, TSV),
               "Snowplow enriched events, 131-field TSV"),
    FileFormat(JSON, "analytics", "events", _sniff_json,
               lambda source, ctx: _parse(source, ctx, JSON),
               "Snowplow enriched events as wide-row JSON lines (loader / analytics SDK)"),
]
