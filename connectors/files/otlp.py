"""OTLP/JSON trace files.

* ``otlp-json``: one ``ExportTraceServiceRequest`` / ``TracesData`` document
  ``{"resourceSpans": [...]}``, usually pretty-printed (also Jaeger's api/v3 ``{"result": …}``).
* ``otlp-jsonl``: the OpenTelemetry Collector file exporter — one such document per line.

OTLP/JSON encoding (opentelemetry-proto, "JSON Protobuf Encoding"): ids are hex, case-insensitive
(stored lower case); keys lowerCamelCase; 64-bit integers as strings or numbers; enums as
integers (the enum names ``SPAN_KIND_SERVER``, ``STATUS_CODE_ERROR`` are accepted too); an
empty value means absent; unknown fields are ignored. The legacy
``instrumentationLibrarySpans`` key is read like ``scopeSpans``.

A span with a bad id or time becomes a ``Reject``; so does a JSON-lines line that is not a
document — unless it is the first record, in which case the file is not OTLP (``FormatError``).
The raw text of a reject is scrubbed as stored rows are (``redact.Redactor``): personal
attribute values pseudonymised, URL attributes without query string and fragment.

``otlp-jsonl`` files are read by DuckDB first (``otlp_native``); this parser reads those with
anything it would reject, or a shape the native path leaves to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Reject, Source
from parallax.connectors.files import otlp_native
from parallax.connectors.files.lines import strip_bom
from parallax.connectors.files.parallel import line_chunks
from parallax.connectors.files.spans import (
    CHUNK_SPANS,
    KINDS,
    MALFORMED,
    SpanColumns,
    SpanError,
    gc_paused,
    hex_id,
    parent_id,
    read_json,
    redactor,
    scrubbed,
)
from parallax.errors import FormatError

__all__ = ["FORMATS", "attribute_value"]

_DOC_START = re.compile(
    rb'\A(?:\xef\xbb\xbf)?\s*\{\s*(?:"resourceSpans"|"result"\s*:\s*\{\s*"resourceSpans")\s*:'
)
_KIND: dict[Any, str] = {i: k for i, k in enumerate(KINDS)}
_KIND.update({f"SPAN_KIND_{k.upper()}": k for k in KINDS})
_ERROR = frozenset({2, "2", "STATUS_CODE_ERROR", "ERROR"})
_TRACE, _SPAN = (32,), (16,)


def _any(v: dict | None) -> Any:
    """An OTLP AnyValue as a plain Python value (bytes stay base64 text, as transmitted)."""
    if not v:
        return None
    s = v.get("stringValue")
    if s is not None:
        return s
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])  # "NaN"/"Infinity" strings too
    if "boolValue" in v:
        b = v["boolValue"]
        return b if isinstance(b, bool) else str(b).lower() == "true"
    if "arrayValue" in v:
        return [_any(x) for x in (v["arrayValue"] or {}).get("values") or ()]
    if "kvlistValue" in v:
        return _attrs((v["kvlistValue"] or {}).get("values"))
    return v.get("bytesValue")


def attribute_value(v: Any) -> Any:
    """An attribute's ``value`` (AnyValue) as a plain value, as ``_attrs`` reads it."""
    s = v.get("stringValue") if v else None
    return s if s is not None else _any(v)


def _attrs(kvs: list | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in kvs or ():
        v = kv.get("value")
        s = v.get("stringValue") if v else None  # the common case, without a call
        out[kv["key"]] = s if s is not None else _any(v)
    return out


def _nanos(v: Any, what: str) -> int:
    if v is None or v == "" or v == 0:
        return 0
    n = int(v) if isinstance(v, (int, str)) and not isinstance(v, bool) else int(float(v))
    if not 0 <= n < 1 << 63:
        raise SpanError(f"{what} out of range: {v!r}")
    return n


def _add_span(cols: SpanColumns, span: dict, resource: tuple) -> None:
    trace_id = hex_id(span.get("traceId"), _TRACE, "traceId")
    span_id = hex_id(span.get("spanId"), _SPAN, "spanId")
    parent = parent_id(span.get("parentSpanId"), _SPAN, "parentSpanId")
    start = _nanos(span.get("startTimeUnixNano"), "startTimeUnixNano")
    if not start:
        raise SpanError("missing startTimeUnixNano")
    end = _nanos(span.get("endTimeUnixNano"), "endTimeUnixNano")
    if end and end < start:
        raise SpanError("endTimeUnixNano is before startTimeUnixNano")
    status = span.get("status")
    cols.add(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=span.get("name"),
        kind=_KIND.get(span.get("kind", 0), "unspecified"),
        start_us=start // 1000,  # _nanos bounds it: 1970 < start < 2262
        duration_ms=(end - start) / 1e6 if end else None,
        status_error=bool(status and status.get("code") in _ERROR),
        attrs=_attrs(span.get("attributes")),
        resource=resource,
    )


class _Batch:
    """Spans, records and rejects since the last chunk."""

    def __init__(self, ctx: ParseContext, fmt: str) -> None:
        self.cols = SpanColumns(ctx, fmt)
        self.records = 0
        self.rejects: list[Reject] = []

    def reject(self, where: str | None, reason: str, record: Any) -> None:
        # In a whole document the location is the record (span) number; in JSON lines, the line.
        raw = scrubbed(self.cols.ctx, record)
        self.rejects.append(Reject(where or f"record {self.records}", reason, raw))

    def chunk(self) -> Chunk:
        chunk = Chunk("spans", self.cols.take(), self.records, tuple(self.rejects))
        self.records, self.rejects = 0, []
        return chunk

    def request(self, doc: dict, where: str | None) -> None:
        """Add the spans of one ExportTraceServiceRequest."""
        for i, rs in enumerate(doc.get("resourceSpans") or ()):
            try:
                self._resource(rs, i, where)
            except MALFORMED as exc:  # a broken envelope: count it as one bad record
                self.records += 1
                self.reject(where, f"resourceSpans[{i}]: malformed ({exc})", rs)

    def _resource(self, rs: dict, i: int, where: str | None) -> None:
        cols = self.cols
        resource = cols.resource(_attrs((rs.get("resource") or {}).get("attributes")))
        key = "scopeSpans" if "scopeSpans" in rs else "instrumentationLibrarySpans"
        for j, ss in enumerate(rs.get(key) or ()):
            for k, span in enumerate(ss.get("spans") or ()):
                self.records += 1
                try:
                    _add_span(cols, span, resource)
                except SpanError as exc:
                    self.reject(where, f"resourceSpans[{i}].{key}[{j}].spans[{k}]: {exc}", span)
                except MALFORMED as exc:
                    reason = f"resourceSpans[{i}].{key}[{j}].spans[{k}]: malformed span ({exc})"
                    self.reject(where, reason, span)


def _request_of(doc: Any) -> dict | None:
    if isinstance(doc, dict):
        if "resourceSpans" in doc:
            return doc
        if isinstance(doc.get("result"), dict) and "resourceSpans" in doc["result"]:
            return doc["result"]  # Jaeger api/v3 wraps the request in "result"
    return None


def _parse_json(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    doc = read_json(source, ctx, "OTLP/JSON")
    request = _request_of(doc)
    if request is None:
        raise FormatError(ctx.file, 'not OTLP/JSON: no "resourceSpans" at the top level')
    if not isinstance(request["resourceSpans"], list):
        raise FormatError(ctx.file, 'not OTLP/JSON: "resourceSpans" is not a list')
    batch = _Batch(ctx, "otlp-json")
    with gc_paused():
        batch.request(request, None)
    yield batch.chunk()


def _load_line(line: bytes) -> tuple[dict | None, str]:
    """(the request, '') or (None, why the line is not one)."""
    try:
        request = _request_of(orjson.loads(line))
    except orjson.JSONDecodeError as exc:
        return None, f"invalid JSON ({exc.msg} at column {exc.colno})"
    if request is None:
        return None, 'no "resourceSpans" object'
    if not isinstance(request["resourceSpans"], list):
        return None, '"resourceSpans" is not a list'
    return request, ""


def _parse_lines(
    lines: Iterable[tuple[int, bytes]], ctx: ParseContext, file_start: bool
) -> Iterator[Chunk]:
    """Numbered lines → chunks; at the start of the file a garbage first record is fatal."""
    batch = _Batch(ctx, "otlp-jsonl")
    first = file_start
    for lineno, line in lines:
        where = f"line {lineno}"
        with gc_paused():
            request, reason = _load_line(line)
            if request is not None:
                first = False
                batch.request(request, where)
        if request is None:
            if first:
                raise FormatError(ctx.file, f"not OTLP/JSON lines: {reason}", where)
            batch.records += 1
            batch.rejects.append(Reject(where, reason, redactor(ctx).line(line)))
        if len(batch.cols) >= CHUNK_SPANS:
            yield batch.chunk()
    if first:
        raise FormatError(ctx.file, "not OTLP/JSON lines: the file is empty")
    yield batch.chunk()


def _parse_jsonl(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    return line_chunks(source, ctx, _parse_lines)


def _sniff_jsonl(head: bytes) -> bool:
    """The first line is a whole document, or one longer than the head (a collector batch)."""
    if not _DOC_START.match(head):
        return False
    nl = head.find(b"\n")
    if nl < 0:
        return True
    try:
        return _request_of(orjson.loads(strip_bom(head[:nl]))) is not None
    except orjson.JSONDecodeError:
        return False


def _sniff_json(head: bytes) -> bool:
    return bool(_DOC_START.match(head)) and not _sniff_jsonl(head)


FORMATS = [
    FileFormat(
        "otlp-json", "traces", "spans", _sniff_json, _parse_json,
        "OTLP/JSON ExportTraceServiceRequest / TracesData document",
    ),
    FileFormat(
        "otlp-jsonl", "traces", "spans", _sniff_jsonl, _parse_jsonl,
        "OpenTelemetry Collector file exporter: one OTLP/JSON document per line",
        stage_native=otlp_native.stage,
    ),
]
