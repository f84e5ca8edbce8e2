"""Jaeger JSON trace files (``jaeger``): the query API / UI download
``{"data": [{traceID, spans, processes}], "total", …}`` or one trace object
``{"traceID", "spans", "processes"}``.

``startTime``/``duration`` are microseconds. The parent is the first ``CHILD_OF`` reference in
the same trace (else ``FOLLOWS_FROM``, else the legacy ``parentSpanID``). Tags are typed
``[{key, type, value}]`` and become attributes; the ``span.kind`` tag gives the kind (absent:
``unspecified``, as the OpenTelemetry translator writes no tag for it) and is not kept twice.
An ``error`` tag that is true, or ``otel.status_code`` ERROR, marks an error. ``processID``
leads to ``processes``: ``serviceName`` → ``service.name``, process tags → resource.
Trace ids are 16 or 32 hex digits (Jaeger prints 64-bit ids short), stored as given, lower case.
Copies of one span id in a trace are merged, not dropped: the first copy's fields filled from
the others, their tags united, and an ``error=true`` (or ``otel.status_code`` ERROR) tag kept
whichever copy carries it. A rejected span is stored scrubbed like the rows (``spans``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Reject, Source
from parallax.connectors.files.lines import strip_bom
from parallax.connectors.files.spans import (
    CHUNK_SPANS,
    KINDS,
    MALFORMED,
    SpanColumns,
    SpanError,
    check_start,
    hex_id,
    parent_id,
    raw_text,
    read_json,
    scrubbed,
)
from parallax.errors import FormatError

__all__ = ["FORMATS"]

_TRACE, _SPAN = (16, 32), (16,)
_KIND = {k: k for k in KINDS}


def _tag_value(tag: dict) -> Any:
    v: Any = tag.get("value")
    t = str(tag.get("type") or "string").lower()
    if t == "bool":
        return v if isinstance(v, bool) else str(v).lower() == "true"
    if t == "int64":
        return int(v)
    if t == "float64":
        return float(v)
    return v  # string; binary stays base64 text


def _tags(tags: list | None) -> dict[str, Any]:
    return {t["key"]: _tag_value(t) for t in tags or ()}


def _parent(span: dict, trace_id: str) -> str | None:
    refs = span.get("references") or ()
    for wanted in ("CHILD_OF", "FOLLOWS_FROM"):
        for ref in refs:
            same = str(ref.get("traceID") or trace_id).lower() == trace_id
            if ref.get("refType") == wanted and same:
                return parent_id(ref.get("spanID"), _SPAN, f"{wanted} reference spanID")
    return parent_id(span.get("parentSpanID"), _SPAN, "parentSpanID")


def _wins(tag: dict) -> bool:
    """A tag that marks an error: the copy of a span that has it is the one to believe."""
    key, value = tag.get("key"), str(tag.get("value")).lower()
    return (key == "error" and value == "true") or (key == "otel.status_code"
                                                    and value == "error")


def _merge(first: dict, copy: dict) -> dict:
    """Two copies of one span (a client that reported twice, a collector that retried): the
    first copy's fields, filled from the other; tags united, an error tag winning."""
    out = {k: v for k, v in first.items() if v not in (None, "", [])}
    for k, v in copy.items():
        out.setdefault(k, v)
    tags = [t for t in (*(first.get("tags") or ()), *(copy.get("tags") or ()))]
    if all(isinstance(t, dict) for t in tags):
        merged: dict[Any, dict] = {}
        for tag in tags:
            if tag.get("key") not in merged or _wins(tag):
                merged[tag.get("key")] = tag
        out["tags"] = list(merged.values())
    return out


def _unique(spans: list) -> list:
    """The trace's spans, every copy of one span id replaced by the merged span (the loader
    then stores it once and counts the other copies as duplicates)."""
    first_at: dict[str, int] = {}
    out, copies = list(spans), []
    for k, span in enumerate(spans):
        sid = span.get("spanID") if isinstance(span, dict) else None
        if not isinstance(sid, str):
            continue
        first = first_at.setdefault(sid.lower(), k)
        if first != k:
            out[first] = _merge(out[first], span)
            copies.append((k, first))
    for k, first in copies:
        out[k] = out[first]
    return out


def _micros(v: Any, what: str) -> int:
    if isinstance(v, bool) or v is None or v == "":
        raise SpanError(f"missing {what}")
    return int(v) if isinstance(v, (int, str)) else int(float(v))


class _Trace:
    """One trace object: its processes become resources, each computed once."""

    def __init__(self, cols: SpanColumns, trace: dict) -> None:
        self.cols, self.trace = cols, trace
        self.processes = trace.get("processes") or {}
        self.resources: dict[Any, tuple] = {}

    def resource(self, span: dict) -> tuple:
        pid = span.get("processID")
        hit = self.resources.get(pid) if pid is not None else None
        if hit is None:
            proc = self.processes.get(pid) if pid is not None else None
            proc = proc or span.get("process") or {}  # some exports embed the process
            tags = _tags(proc.get("tags"))
            service = proc.get("serviceName") or tags.get("service.name")
            tags.pop("service.name", None)
            hit = self.cols.resource({"service.name": service, **tags} if service else tags)
            if pid is not None:
                self.resources[pid] = hit
        return hit

    def add(self, span: dict) -> None:
        trace_id = hex_id(span.get("traceID") or self.trace.get("traceID"), _TRACE, "traceID")
        span_id = hex_id(span.get("spanID"), _SPAN, "spanID")
        attrs = _tags(span.get("tags"))
        kind = attrs.pop("span.kind", None)
        error = attrs.get("error")
        duration = span.get("duration")
        self.cols.add(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=_parent(span, trace_id),
            name=span.get("operationName"),
            kind=_KIND.get(str(kind).lower(), "unspecified") if kind else "unspecified",
            start_us=check_start(_micros(span.get("startTime"), "startTime"), "startTime"),
            duration_ms=None if duration in (None, "") else float(duration) / 1000,
            status_error=str(error).lower() == "true"
            or str(attrs.get("otel.status_code", "")).upper() == "ERROR",
            attrs=attrs,
            resource=self.resource(span),
        )


def _traces(doc: Any, file: str) -> tuple[list, str]:
    """The trace objects and the path prefix that locates them in the document."""
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        return doc["data"], "data[{}]."
    if isinstance(doc, dict) and isinstance(doc.get("spans"), list):
        return [doc], ""
    if isinstance(doc, dict) and doc.get("errors"):
        raise FormatError(file, f"Jaeger response holds errors, no data: {raw_text(doc['errors'])}")
    raise FormatError(file, 'not Jaeger JSON: expected {"data": [traces]} or a trace with "spans"')


def _parse(source: Source, ctx: ParseContext) -> Iterator[Chunk]:
    traces, prefix = _traces(read_json(source, ctx, "Jaeger JSON"), ctx.file)
    cols = SpanColumns(ctx, "jaeger")
    rejects: list[Reject] = []
    seen = records = 0  # seen numbers the records in the file; records counts this chunk's
    for i, trace in enumerate(traces):
        if not isinstance(trace, dict) or not isinstance(trace.get("spans"), list):
            seen += 1
            records += 1
            reason = f'data[{i}]: not a trace object with a "spans" list'
            rejects.append(Reject(f"record {seen}", reason, scrubbed(ctx, trace)))
            continue
        tr = _Trace(cols, trace)
        for k, span in enumerate(_unique(trace["spans"])):
            seen += 1
            records += 1
            try:
                if not isinstance(span, dict):
                    raise SpanError("not a span object")
                tr.add(span)
            except SpanError as exc:
                reason = f"{prefix.format(i)}spans[{k}]: {exc}"
                rejects.append(Reject(f"record {seen}", reason, scrubbed(ctx, span)))
            except MALFORMED as exc:
                reason = f"{prefix.format(i)}spans[{k}]: malformed span ({exc})"
                rejects.append(Reject(f"record {seen}", reason, scrubbed(ctx, span)))
        if len(cols) >= CHUNK_SPANS:
            yield Chunk("spans", cols.take(), records, tuple(rejects))
            records, rejects = 0, []
    yield Chunk("spans", cols.take(), records, tuple(rejects))


def _sniff(head: bytes) -> bool:
    text = strip_bom(head).lstrip()
    return text.startswith(b"{") and b'"traceID"' in text and b'"resourceSpans"' not in text


FORMATS = [
    FileFormat(
        "jaeger", "traces", "spans", _sniff, _parse,
        "Jaeger query API / UI JSON ({data: [traces]}) or a single trace object",
    ),
]
