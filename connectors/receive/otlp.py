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

__all__ = ["Decoded", "decode_traces"]

_HEX = re.compile(r"[0-9a-fA-F]*")
_IDS = ("traceId", "spanId", "parentSpanId")
_MAX_NANOS = 1 << 63  # the mapping's bound on OTLP times (year 2262)
_SHOWN = 3  # rejected spans named in the answer's message


@dataclass(frozen=True)
class Decoded:
    line: bytes | None  # OTLP/JSON ExportTraceServiceRequest (rejected spans kept); None: empty
    accepted: int
    rejected: int
    message: str  # why spans were rejected ('' when none were)


def decode_traces(body: bytes, encoding: str) -> Decoded:
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
    for span in _spans(doc):
        for key in _IDS:
            if key in span:
                span[key] = base64.b64decode(span[key]).hex()
        for link in span.get("links") or ():
            for key in ("traceId", "spanId"):
                if key in link:
                    link[key] = base64.b64decode(link[key]).hex()
    return Decoded(orjson.dumps(doc), accepted, len(reasons), message)


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


def _spans(doc: dict) -> Iterator[dict]:
    for rs in doc.get("resourceSpans") or ():
        for ss in rs.get("scopeSpans") or ():
            yield from ss.get("spans") or ()


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
