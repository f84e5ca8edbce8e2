"""Span rows in the canonical shape, shared by the OTLP, Jaeger and Zipkin parsers.

The mapping follows the OpenTelemetry semantic conventions, old and new names alike (first
present wins):

| canonical     | attributes                                                             |
|---------------|------------------------------------------------------------------------|
| service       | resource ``service.name`` (Jaeger process / Zipkin localEndpoint)      |
| http_method   | ``http.request.method``, ``http.method``                               |
| http_route    | ``http.route``, ``url.full``, ``http.url``, ``url.path``, ``http.target``, |
|               | ``http.path`` (Zipkin) — without query string and fragment            |
| route         | http_route through the shared route normalisation                     |
| status_code   | ``http.response.status_code``, ``http.status_code``                    |
| peer          | CLIENT/PRODUCER only: ``peer.service``, ``server.address``,             |
|               | ``net.peer.name``, the format's remote endpoint, else the URL's host    |
| session_id    | ``session.id`` (span, then resource)                                   |
| user_id       | ``enduser.id``, ``user.id`` (span, then resource) — pseudonymised       |
| is_error      | status ERROR, HTTP status ≥ 500, ``error.type``, or an ``error`` tag    |

Personal identifiers among the kept attributes are pseudonymised (``PII_ATTRIBUTE_KEYS``:
user ids, e-mails, client addresses incl. ``http.client.ip`` and forwarded-for headers), free
text that may quote a person (``db.statement``, ``exception.message``: ``FREE_TEXT_KEYS``) goes
through ``redact_text``, captured credential headers (``authorization``, cookies, API keys) are
dropped;
URL attributes lose query string and fragment, and ``url.query`` is not kept.
Parsers validate ids and times with ``hex_id``/``parent_id``/``check_start`` and raise
``SpanError`` for a bad span; its message becomes the ``Reject`` reason.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import orjson
import pyarrow as pa

from parallax.connectors.arrays import column  # pa.array would import pandas (arrays.py)
from parallax.connectors.base import ParseContext, Source
from parallax.connectors.files.lines import strip_bom
from parallax.connectors.files.redact import Redactor
from parallax.connectors.privacy import FREE_TEXT_KEYS, PII_ATTRIBUTE_KEYS, is_credential
from parallax.errors import FormatError

__all__ = [
    "CHUNK_SPANS", "KINDS", "MALFORMED", "SPAN_SCHEMA", "SpanColumns", "SpanError",
    "check_start", "gc_paused", "hex_id", "parent_id", "raw_text", "read_json", "redactor",
    "scrubbed",
]

# OTLP SpanKind integers → canonical names (Jaeger/Zipkin map their strings onto these).
KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
CHUNK_SPANS = 50_000  # spans per Chunk: big enough to amortise staging, small enough for memory
MAX_US = 253_402_300_800_000_000  # 10000-01-01 in µs since the epoch: beyond any real span

_USER = ("enduser.id", "user.id")
_HEX: dict[tuple[int, ...], re.Pattern] = {}  # lengths → "lower-case hex, not all zero"

# URL attributes keep scheme, host and path: query strings and fragments carry tokens and
# e-mail addresses, and nothing downstream needs them.
_URL_KEYS = frozenset({"url.full", "http.url", "http.target", "url.query"})
_SCRUBBED_KEYS = PII_ATTRIBUTE_KEYS | _URL_KEYS | FREE_TEXT_KEYS

SPAN_SCHEMA = pa.schema([
    ("trace_id", pa.string()), ("span_id", pa.string()), ("parent_span_id", pa.string()),
    ("service", pa.string()), ("name", pa.string()), ("kind", pa.string()),
    ("started_at", pa.timestamp("us", tz="UTC")), ("duration_ms", pa.float64()),
    ("is_error", pa.bool_()), ("status_code", pa.int32()), ("http_method", pa.string()),
    ("http_route", pa.string()), ("route", pa.string()), ("peer", pa.string()),
    ("session_id", pa.string()), ("user_id", pa.string()), ("attributes", pa.string()),
    ("resource", pa.string()), ("source", pa.string()),
])


# What a malformed record (wrong types, missing keys) raises while it is read: a reject.
MALFORMED = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError)


class SpanError(ValueError):
    """A span that cannot be stored; the message is the reject reason."""


def hex_id(value: Any, lengths: tuple[int, ...], what: str) -> str:
    """A valid hex id in lower case (OTLP/Jaeger/Zipkin ids are case-insensitive hex)."""
    pattern = _HEX.get(lengths)
    if pattern is None:
        alts = "|".join(f"[0-9a-f]{{{n}}}" for n in lengths)
        pattern = _HEX[lengths] = re.compile(f"(?!0+$)(?:{alts})")
    if isinstance(value, str) and pattern.fullmatch(low := value.lower()):
        return low
    want = " or ".join(str(n) for n in lengths)
    raise SpanError(f"invalid {what} {value!r}: want {want} hex digits, not all zero")


def parent_id(value: Any, lengths: tuple[int, ...], what: str) -> str | None:
    """Like ``hex_id``, but absent, empty and all-zero mean 'no parent' (a root span)."""
    if value is None or value == "" or (isinstance(value, str) and not value.strip("0")):
        return None
    return hex_id(value, lengths, what)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a parsed JSON tree is turned into rows.

    A collector batch line holds tens of thousands of dicts; allocating them triggers dozens of
    collections that walk every live object, which cost more than the parsing itself. JSON
    trees hold no reference cycles, so reference counting frees them without the collector.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_start(us: int, what: str) -> int:
    if not 0 < us < MAX_US:
        raise SpanError(f"{what} out of range: {us} µs since 1970")
    return us


def raw_text(record: Any) -> str | None:
    """The record as JSON text for the rejects table (never raises)."""
    try:
        return orjson.dumps(record).decode()
    except (TypeError, orjson.JSONEncodeError):
        try:
            return repr(record)
        except RecursionError:  # nested deeper than repr goes: the record is not shown
            return f"<{type(record).__name__} nested too deep to show>"


def redactor(ctx: ParseContext) -> Redactor:
    """How a rejected span, envelope or line is scrubbed for ``rejects.raw``: personal
    attribute values (and url.query) pseudonymised, URL attributes cut, as stored rows are."""
    return Redactor.of(ctx.pseudonymize, ids=("url.query",),
                       urls=("url.full", "http.url", "http.target", "http.path"))


def scrubbed(ctx: ParseContext, record: Any) -> str:
    """A rejected record of any span format as its ``rejects.raw`` text."""
    return redactor(ctx).record(record, raw_text(record) or "")


def read_json(source: Source, ctx: ParseContext, what: str) -> Any:
    """The whole file as one JSON value, or a FormatError naming the line and column."""
    with source.open() as f:
        data = f.read()
    data = strip_bom(data)
    try:
        with gc_paused():
            return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise FormatError(ctx.file, f"not {what}: invalid JSON ({exc.msg})", where) from None


def _first(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        v = attrs.get(k)
        if v is not None and v != "":
            return v
    return None


def _int(v: Any) -> int | None:
    try:
        n = int(v) if v is not None and v != "" else None
    except (TypeError, ValueError, OverflowError):
        return None
    return n if n is not None and 0 <= n < 1000 else None  # an HTTP status, nothing else


def _text(v: Any) -> str | None:
    if v is None or v == "":
        return None
    return v if isinstance(v, str) else str(v)


class SpanColumns:
    """Accumulates spans as row tuples; ``take()`` returns an Arrow table and starts afresh.

    ``add`` computes the whole row before storing it, so a span that raises leaves no trace.
    """

    def __init__(self, ctx: ParseContext, source: str) -> None:
        self.ctx, self.source = ctx, source
        self._rows: list[tuple] = []

    def __len__(self) -> int:
        return len(self._rows)

    def resource(self, attrs: Mapping[str, Any]) -> tuple:
        """Per-resource values, computed once: (service, session, user, resource JSON)."""
        scrub = self.ctx.pseudonymize.scrub
        return (
            _text(attrs.get("service.name")),
            _text(attrs.get("session.id")),
            self.ctx.pseudonymize(_first(attrs, _USER)),
            orjson.dumps(scrub(attrs)).decode() if attrs else None,
        )

    def add(
        self,
        *,
        trace_id: str,
        span_id: str,
        parent_span_id: str | None,
        name: str | None,
        kind: str,
        start_us: int,
        duration_ms: float | None,
        status_error: bool,
        attrs: Mapping[str, Any],
        resource: tuple,
        remote_peer: str | None = None,
    ) -> None:
        ctx = self.ctx
        get = attrs.get
        service, res_session, res_user, res_json = resource
        # The key orders of the table in the module docstring, spelled out: this runs per span.
        status = get("http.response.status_code") or get("http.status_code")
        status_code = status if type(status) is int and 0 <= status < 1000 else _int(status)
        raw_route = _text(get("http.route") or get("url.full") or get("http.url")
                          or get("url.path") or get("http.target") or get("http.path"))
        if raw_route is not None and ("?" in raw_route or "#" in raw_route):
            # Query strings carry tokens and e-mail addresses; the route never needs them.
            raw_route = raw_route.split("#", 1)[0].split("?", 1)[0]
        peer = None
        if kind == "client" or kind == "producer":
            peer = get("peer.service") or get("server.address") or get("net.peer.name")
            peer = peer or remote_peer
            if not peer and (url := get("url.full") or get("http.url")):
                peer = urlsplit(str(url)).hostname
        user = get("enduser.id") or get("user.id")
        session = get("session.id")
        method = get("http.request.method") or get("http.method")
        if not attrs:
            attributes = None
        elif _SCRUBBED_KEYS.isdisjoint(attrs) and not any(
                k.startswith("http.re") and is_credential(k) for k in attrs):
            attributes = orjson.dumps(attrs).decode()
        else:  # what Pseudonymizer.scrub does, touching only the keys present
            kept = {k: v for k, v in attrs.items() if not is_credential(k)}
            for k in FREE_TEXT_KEYS.intersection(kept):
                if isinstance(kept[k], str):
                    kept[k] = ctx.pseudonymize.redact_text(kept[k])
            for k in PII_ATTRIBUTE_KEYS.intersection(kept):
                if kept[k] is not None:
                    kept[k] = ctx.pseudonymize(kept[k])
            for k in _URL_KEYS.intersection(kept):
                v = kept[k]
                if isinstance(v, str) and ("?" in v or "#" in v):
                    kept[k] = v.split("#", 1)[0].split("?", 1)[0]
            kept.pop("url.query", None)
            attributes = orjson.dumps(kept).decode()
        self._rows.append((
            trace_id,
            span_id,
            parent_span_id or None,
            service,
            name or None if type(name) is str else _text(name),
            kind,
            start_us,
            duration_ms,
            bool(status_error or (status_code is not None and status_code >= 500)
                 or get("error.type")),
            status_code,
            method if type(method) is str else _text(method),
            raw_route,
            ctx.route(raw_route),
            peer if type(peer) is str else _text(peer),
            (session if type(session) is str else _text(session)) or res_session,
            ctx.pseudonymize(user) if user else res_user,
            attributes,
            res_json,
            self.source,
        ))

    def take(self) -> pa.Table:
        rows, self._rows = self._rows, []
        if not rows:
            return SPAN_SCHEMA.empty_table()
        cols = zip(*rows, strict=True)
        return pa.Table.from_arrays(
            [column(col, f.type) for col, f in zip(cols, SPAN_SCHEMA, strict=True)],
            schema=SPAN_SCHEMA,
        )
