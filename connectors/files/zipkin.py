"""Zipkin v2 JSON trace files (``zipkin``): a list of spans, a list of traces (lists of
spans) as the Zipkin API's ``/api/v2/traces`` returns them, or one span object.

``timestamp``/``duration`` are microseconds (decimals allowed). ``kind`` CLIENT, SERVER,
PRODUCER, CONSUMER map onto the OpenTelemetry kinds; an absent kind is ``internal``: Zipkin
models a kind-less span as local, and the OpenTelemetry → Zipkin mapping writes INTERNAL as
no kind, so the round trip keeps one natural key. ``localEndpoint.serviceName`` is the
service; the peer of a CLIENT/PRODUCER span is ``remoteEndpoint.serviceName``, else its
ipv4/ipv6 (the address of a called service, not of a person). Tags become attributes; an
``error`` tag (any value, even empty) or ``otel.status_code`` ERROR marks an error. A
``shared`` SERVER span carries its CLIENT span's id and is a different span: the natural key
includes the kind. Trace ids are 16 or 32 hex digits, stored as given, lower case. A
rejected span is stored scrubbed like the rows (``spans``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Reject, Source
from parallax.connectors.files.lines import strip_bom
from parallax.connectors.files.spans import (
    CHUNK_SPANS,
    MALFORMED,
    SpanColumns,
    SpanError,
    check_start,
    hex_id,
    parent_id,
    read_json,
    scrubbed,
)
from parallax.errors import FormatError

__all__ = ["FORMATS"]

_TRACE, _SPAN = (16, 32), (16,)
_KIND = {"CLIENT": "client", "SERVER": "server", "PRODUCER": "producer", "CONSUMER": "consumer"}


def _is_error(tags: dict) -> bool:
    if "error" in tags:
        return True
    status = tags.get("otel.status_code") or tags.get("ot.status_code")
    return status is not None and str(status).upper() == "ERROR"


class _Spans:
    def __init__(self, cols: SpanColumns) -> None:
        self.cols = cols
        self.resources: dict[Any, tuple] = {}  # per local service name

    def add(self, span: dict) -> None:
        trace_id = hex_id(span.get("traceId"), _TRACE, "traceId")
        span_id = hex_id(span.get("id"), _SPAN, "id")
        ts = span.get("timestamp")
        if ts is None or ts == "" or isinstance(ts, bool):
            raise SpanError("missing timestamp")
        duration = span.get("duration")
        tags = span.get("tags") or {}
        if not isinstance(tags, dict):
            raise SpanError("tags is not an object")
        kind = span.get("kind")
        local = span.get("localEndpoint") or {}
        remote = span.get("remoteEndpoint") or {}
        service = local.get("serviceName") or None
        resource = self.resources.get(service)
        if resource is None:
            resource = self.cols.resource({"service.name": service} if service else {})
            self.resources[service] = resource
        self.cols.add(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent_id(span.get("parentId"), _SPAN, "parentId"),
            name=span.get("name"),
            kind=_KIND.get(str(kind).upper(), "unspecified") if kind else "internal",
            start_us=check_start(int(float(ts)) if isinstance(ts, str) else int(ts), "timestamp"),
            duration_ms=None if duration in (None, "") else float(duration) / 1000,
            status_error=_is_error(tags),
            attrs=tags,  # freshly parsed and ours: no copy needed
            resource=resource,
            remote_peer=remote.get("serviceName") or remote.get("ipv4") or remote.get("ipv6"),
        )


def _items(doc: list) -> Iterator[tuple[str, Any]]:
    """(path, span) for a list of spans or a list of traces."""
    for i, item in enumerate(doc):
        if isinstance(item, list):
            for k, span in enumerate(item):
                yield f"[{i}][{k}]", span
        else:
            yield f"[{i}]", item


def _parse(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    doc = read_json(source, ctx, "Zipkin v2 JSON")
    if isinstance(doc, dict) and "traceId" in doc and "id" in doc:
        doc = [doc]  # one span object, as a tracer that reports spans one by one writes it
    if not isinstance(doc, list):
        raise FormatError(ctx.file, "not Zipkin v2 JSON: expected a span or a list of spans")
    spans = _Spans(SpanColumns(ctx, "zipkin"))
    rejects: list[Reject] = []
    records = 0
    for seen, (path, span) in enumerate(_items(doc), 1):
        records += 1
        try:
            if not isinstance(span, dict):
                raise SpanError("not a span object")
            spans.add(span)
        except SpanError as exc:
            rejects.append(Reject(f"record {seen}", f"{path}: {exc}", scrubbed(ctx, span)))
        except MALFORMED as exc:
            reason = f"{path}: malformed span ({exc})"
            rejects.append(Reject(f"record {seen}", reason, scrubbed(ctx, span)))
        if len(spans.cols) >= CHUNK_SPANS:
            yield Chunk("spans", spans.cols.take(), records, tuple(rejects))
            records, rejects = 0, []
    yield Chunk("spans", spans.cols.take(), records, tuple(rejects))


def _sniff(head: bytes) -> bool:
    text = strip_bom(head).lstrip()
    if text.startswith(b"{"):  # one span object (an OTLP document was claimed before)
        return all(k in text for k in (b'"traceId"', b'"id"')) and b'"resourceSpans"' not in text
    return text.startswith(b"[") and b'"traceId"' in text


FORMATS = [
    FileFormat(
        "zipkin", "traces", "spans", _sniff, _parse,
        "Zipkin v2 JSON: a span, a list of spans, or a list of traces",
    ),
]
