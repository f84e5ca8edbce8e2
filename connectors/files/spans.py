"""Span rows in the canonical shape, shared by the OTLP, Jaeger and Zipkin parsers.

The mapping follows the OpenTelemetry semantic conventions, old and new names alike (first
present wins):

| canonical     | attributes                                                             |
|---------------|------------------------------------------------------------------------|
| service       | resource ``service.name`` (Jaeger process / Zipkin localEndpoint)      |
| http_method   | ``http.request.method``, ``http.method``                               |
| http_route    | ``http.route``, ``url.full``, ``http.url``, ``url.path``, ``http.target`` |
| route         | http_route through the shared route normalisation                     |
| status_code   | ``http.response.status_code``, ``http.status_code``                    |
| peer          | CLIENT/PRODUCER only: ``peer.service``, ``server.address``,             |
|               | ``net.peer.name``, the format's remote endpoint, else the URL's host    |
| session_id    | ``session.id`` (span, then resource)                                   |
| user_id       | ``enduser.id``, ``user.id`` (span, then resource) — pseudonymised       |
| is_error      | status ERROR, HTTP status ≥ 500, ``error.type``, or an ``error`` tag    |

Personal identifiers among the kept attributes are pseudonymised (``PII_ATTRIBUTE_KEYS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson
import pyarrow as pa

from parallax.connectors.base import ParseContext
from parallax.connectors.privacy import PII_ATTRIBUTE_KEYS

__all__ = ["KINDS", "SPAN_SCHEMA", "SpanColumns"]

# OTLP SpanKind integers → canonical names (Jaeger/Zipkin map their strings onto these).
KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")

_METHOD = ("http.request.method", "http.method")
_ROUTE = ("http.route", "url.full", "http.url", "url.path", "http.target")
_STATUS = ("http.response.status_code", "http.status_code")
_PEER = ("peer.service", "server.address", "net.peer.name")
_URLS = ("url.full", "http.url")
_USER = ("enduser.id", "user.id")

SPAN_SCHEMA = pa.schema([
    ("trace_id", pa.string()), ("span_id", pa.string()), ("parent_span_id", pa.string()),
    ("service", pa.string()), ("name", pa.string()), ("kind", pa.string()),
    ("started_at", pa.timestamp("us", tz="UTC")), ("duration_ms", pa.float64()),
    ("is_error", pa.bool_()), ("status_code", pa.int32()), ("http_method", pa.string()),
    ("http_route", pa.string()), ("route", pa.string()), ("peer", pa.string()),
    ("session_id", pa.string()), ("user_id", pa.string()), ("attributes", pa.string()),
    ("resource", pa.string()), ("source", pa.string()),
])


def _first(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        v = attrs.get(k)
        if v is not None and v != "":
            return v
    return None


def _int(v: Any) -> int | None:
    try:
        return int(v) if v is not None and v != "" else None
    except (TypeError, ValueError):
        return None


class SpanColumns:
    """Accumulates spans column-wise; ``take()`` returns an Arrow table and starts afresh."""

    def __init__(self, ctx: ParseContext, source: str) -> None:
        self.ctx, self.source = ctx, source
        self._cols: dict[str, list] = {f.name: [] for f in SPAN_SCHEMA}
        self._resource_cache: dict[int, tuple] = {}

    def __len__(self) -> int:
        return len(self._cols["trace_id"])

    def resource(self, attrs: Mapping[str, Any]) -> tuple:
        """Per-resource values, computed once: (service, session, user, resource JSON)."""
        scrub = self.ctx.pseudonymize.scrub
        return (
            attrs.get("service.name") or None,
            attrs.get("session.id") or None,
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
        c = self._cols
        service, res_session, res_user, res_json = resource
        status_code = _int(_first(attrs, _STATUS))
        raw_route = _first(attrs, _ROUTE)
        raw_route = str(raw_route) if raw_route is not None else None
        peer = None
        if kind in ("client", "producer"):
            peer = _first(attrs, _PEER) or remote_peer
            if peer is None and (url := _first(attrs, _URLS)):
                peer = urlsplit(str(url)).hostname
        user = _first(attrs, _USER)
        c["trace_id"].append(trace_id)
        c["span_id"].append(span_id)
        c["parent_span_id"].append(parent_span_id or None)
        c["service"].append(service)
        c["name"].append(name or None)
        c["kind"].append(kind)
        c["started_at"].append(start_us)
        c["duration_ms"].append(duration_ms)
        c["is_error"].append(
            status_error
            or (status_code is not None and status_code >= 500)
            or bool(attrs.get("error.type"))
        )
        c["status_code"].append(status_code)
        c["http_method"].append(_first(attrs, _METHOD))
        c["http_route"].append(raw_route)
        c["route"].append(self.ctx.route(raw_route))
        c["peer"].append(str(peer) if peer is not None else None)
        c["session_id"].append(str(attrs.get("session.id") or res_session or "") or None)
        c["user_id"].append(self.ctx.pseudonymize(user) if user is not None else res_user)
        if attrs:
            if PII_ATTRIBUTE_KEYS.isdisjoint(attrs):
                c["attributes"].append(orjson.dumps(attrs).decode())
            else:
                c["attributes"].append(orjson.dumps(self.ctx.pseudonymize.scrub(attrs)).decode())
        else:
            c["attributes"].append(None)
        c["resource"].append(res_json)
        c["source"].append(self.source)

    def take(self) -> pa.Table:
        table = pa.table(self._cols, schema=SPAN_SCHEMA)
        self._cols = {f.name: [] for f in SPAN_SCHEMA}
        return table
