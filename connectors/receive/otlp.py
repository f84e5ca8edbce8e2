"""An OTLP/HTTP trace export → one OTLP/JSON document of its spans.

Both encodings are decoded with the official ``opentelemetry.proto`` classes: protobuf with
``ExportTraceServiceRequest.FromString``, JSON with ``json_format.ParseDict`` after the
OTLP/JSON deviations from the proto3 JSON mapping are undone (trace and span ids are hex, not
base64; unknown fields are ignored). Spans the file mapping would reject (bad ids, missing or
inverted times: the checks of ``connectors/files/otlp.py``) are counted and named for the
partial-success answer, and stay in the document: the hand-off loads batches with no reject-rate
limit, so the mapping keeps them in ``rejects`` with its reason, never dropped silently. The
document is written back as OTLP/JSON (ids hex, enums as integers) — the line the file mapping
reads, so received spans and loaded files share one mapping.

Before that, strings are capped (``Caps``): a span, event or scope name and an attribute key
are cut to ``max_name_bytes`` UTF-8 bytes, an attribute value — a string, bytes, or an
array / key-value list taken together, whose elements are kept while they fit — and a status
message to ``max_value_bytes``. Each value cut counts once in ``Decoded.truncated`` and the
answer says so (a partial success with 0 rejected spans: the OTLP way to warn).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from google.protobuf import json_format, unknown_fields
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from parallax.connectors.receive.protocol import PROTOBUF, ReceiveError

__all__ = ["Caps", "Decoded", "decode_traces"]

_HEX = re.compile(r"[0-9a-fA-F]*")
_IDS = ("traceId", "spanId", "parentSpanId")
_MAX_NANOS = 1 << 63  # the mapping's bound on OTLP times (year 2262)
_SHOWN = 3  # rejected spans named in the answer's message


@dataclass(frozen=True)
class Caps:
    max_name_bytes: int = 1024  # span / event / scope names, attribute keys
    max_value_bytes: int = 8192  # attribute values (arrays and lists together), status messages


@dataclass(frozen=True)
class Decoded:
    line: bytes | None  # OTLP/JSON ExportTraceServiceRequest (rejected spans kept); None: empty
    accepted: int
    rejected: int
    message: str  # why spans were rejected, or which values were cut ('' when neither)
    truncated: int = 0  # names and values cut to the caps


_CAPS = Caps()


def decode_traces(body: bytes, encoding: str, caps: Caps = _CAPS) -> Decoded:
    """Decode and validate one export request; ``ReceiveError(400)`` if it is not one."""
    bad: dict[tuple[int, int, int], str] = {}
    if encoding == PROTOBUF:
        try:
            req = ExportTraceServiceRequest.FromString(body)
        except DecodeError:
            raise ReceiveError(400, "body is not a protobuf ExportTraceServiceRequest") from None
        if not req.resource_spans and len(unknown_fields.UnknownFieldSet(req)):
            raise ReceiveError(400, "body is not a protobuf ExportTraceServiceRequest")
    else:
        req = _parse_json(body, bad)
    reasons = _check_spans(req, bad)
    accepted = sum(len(ss.spans) for rs in req.resource_spans
                   for ss in rs.scope_spans) - len(reasons)
    message = ""
    if reasons:
        more = f" (and {len(reasons) - _SHOWN} more)" if len(reasons) > _SHOWN else ""
        message = f"{len(reasons)} span(s) rejected: " + "; ".join(reasons[:_SHOWN]) + more
    if not accepted and not reasons:
        return Decoded(None, 0, 0, message)
    doc = json_format.MessageToDict(req, use_integers_for_enums=True)
    cap = _Capper(caps)
    for rs in doc.get("resourceSpans") or ():
        cap.attributes(rs.get("resource"))
        for ss in rs.get("scopeSpans") or ():
            scope = ss.get("scope")
            if scope:
                cap.name(scope, "name")
                cap.name(scope, "version")
                cap.attributes(scope)
            for span in ss.get("spans") or ():
                for key in _IDS:
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
                cap.name(span, "name")
                cap.value(span, "traceState")
                cap.attributes(span)
                for event in span.get("events") or ():
                    cap.name(event, "name")
                    cap.attributes(event)
                for link in span.get("links") or ():
                    for key in ("traceId", "spanId"):
                        if key in link:
                            link[key] = base64.b64decode(link[key]).hex()
                    cap.value(link, "traceState")
                    cap.attributes(link)
                cap.value(span.get("status"), "message")
    if cap.truncated:
        cut = (f"{cap.truncated} name(s) or value(s) cut to {caps.max_name_bytes} / "
               f"{caps.max_value_bytes} bytes")
        message = f"{message}; {cut}" if message else cut
    return Decoded(orjson.dumps(doc), accepted, len(reasons), message, cap.truncated)


class _Capper:
    """Cuts names and values of an OTLP/JSON document in place, counting each one cut."""

    def __init__(self, caps: Caps) -> None:
        self.max_name, self.max_value = caps.max_name_bytes, caps.max_value_bytes
        self.truncated = 0

    def name(self, obj: dict | None, key: str) -> None:
        self._cut(obj, key, self.max_name)

    def value(self, obj: dict | None, key: str) -> None:
        self._cut(obj, key, self.max_value)

    def _cut(self, obj: dict | None, key: str, limit: int) -> None:
        s = obj.get(key) if obj else None
        if obj and isinstance(s, str) and len(s) > limit // 4 and _utf8(s) > limit:
            obj[key] = _cut(s, limit)
            self.truncated += 1

    def attributes(self, obj: dict | None) -> None:
        for kv in (obj.get("attributes") or ()) if obj else ():
            self.name(kv, "key")
            value = kv.get("value")
            if value and self._any(value, self.max_value) < 0:
                self.truncated += 1

    def _any(self, v: Any, budget: int) -> int:
        """Cap one AnyValue to ``budget`` bytes in place; the budget left, < 0 when cut."""
        if not isinstance(v, dict):
            return budget
        s = v.get("stringValue")
        if s is not None:
            n = _utf8(s)
            if n <= budget:
                return budget - n
            v["stringValue"] = _cut(s, max(budget, 0))
            return -1
        b = v.get("bytesValue")
        if b is not None:
            n = len(b) * 3 // 4
            if n <= budget:
                return budget - n
            raw = base64.b64decode(b)[:max(budget, 0)]
            v["bytesValue"] = base64.b64encode(raw).decode()
            return -1
        for kind in ("arrayValue", "kvlistValue"):
            inner = v.get(kind)
            if inner is None:
                continue
            values = inner.get("values") or []
            for i, item in enumerate(values):
                if budget <= 0:
                    del values[i:]
                    return -1
                if kind == "kvlistValue":
                    key = item.get("key") or ""
                    budget -= _utf8(key)
                    if budget < 0:
                        del values[i:]
                        return -1
                    item = item.get("value")
                budget = self._any(item, budget)
                if budget < 0:
                    del values[i + 1:]
                    return -1
            return budget
        return budget - 8  # bool, int, double


def _utf8(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def _cut(s: str, limit: int) -> str:
    """``s`` cut to at most ``limit`` UTF-8 bytes, on a character boundary."""
    return s.encode("utf-8", "surrogatepass")[:limit].decode("utf-8", "ignore")


def _parse_json(body: bytes, bad: dict[tuple[int, int, int], str]) -> ExportTraceServiceRequest:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ReceiveError(400, f"body is not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(doc, dict):
        raise ReceiveError(400, "body is not an OTLP/JSON ExportTraceServiceRequest object")
    try:
        for (i, j, k), span in _indexed_spans(doc):
            for key in _IDS:
                reason = _hex_to_base64(span, key)
                if reason:
                    bad.setdefault((i, j, k), reason)
            for link in span.get("links") or ():
                for key in ("traceId", "spanId"):
                    if _hex_to_base64(link, key):
                        link.pop(key, None)
        return json_format.ParseDict(doc, ExportTraceServiceRequest(),
                                     ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, AttributeError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise ReceiveError(400, f"not an OTLP/JSON ExportTraceServiceRequest: {reason}") \
            from None


def _hex_to_base64(obj: dict, key: str) -> str | None:
    """Rewrite a hex id as the proto3 JSON mapping's base64; the reason if it is not hex."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) % 2 or not _HEX.fullmatch(value):
        obj[key] = ""
        return f"invalid {key} {str(value)[:40]!r}: not hex"
    obj[key] = base64.b64encode(bytes.fromhex(value)).decode()
    return None


def _indexed_spans(doc: dict) -> Iterator[tuple[tuple[int, int, int], dict]]:
    for i, rs in enumerate(doc.get("resourceSpans") or doc.get("resource_spans") or ()):
        scopes = (rs.get("scopeSpans") or rs.get("scope_spans") or ()) if isinstance(
            rs, dict) else ()
        for j, ss in enumerate(scopes):
            for k, span in enumerate((ss.get("spans") or ()) if isinstance(ss, dict) else ()):
                if isinstance(span, dict):
                    yield (i, j, k), span


def _check_spans(req: ExportTraceServiceRequest,
                 bad: dict[tuple[int, int, int], str]) -> list[str]:
    """One reason per span the mapping will reject (the spans stay, for ``rejects``)."""
    reasons: list[str] = []
    for i, rs in enumerate(req.resource_spans):
        for j, ss in enumerate(rs.scope_spans):
            for k, span in enumerate(ss.spans):
                why = bad.get((i, j, k)) or _invalid(span)
                if why:
                    reasons.append(f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]: {why}")
    return reasons


def _invalid(span: Any) -> str | None:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return "invalid traceId: want 32 hex digits, not all zero"
    if len(span.span_id) != 8 or not any(span.span_id):
        return "invalid spanId: want 16 hex digits, not all zero"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return "invalid parentSpanId: want 16 hex digits"
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    if not start:
        return "missing startTimeUnixNano"
    if start >= _MAX_NANOS or end >= _MAX_NANOS:
        return "time out of range"
    if end and end < start:
        return "endTimeUnixNano is before startTimeUnixNano"
    return None
