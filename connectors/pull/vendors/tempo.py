"""Grafana Tempo: search a time window, then fetch each trace as OTLP JSON.

    [sources.tempo]
    type = "tempo"
    base_url = "http://tempo:3200"
    service = "checkout"              # q = { resource.service.name = "checkout" } (TraceQL)
    # tags = "service.name=checkout"  # or a tag search (logfmt; values match as substrings)
    window_minutes = 60
    limit = 500

``/api/search?q=…&start=…&end=…&limit=…`` (Unix seconds) answers ``{"traces": [{"traceID",
"rootServiceName", "rootTraceName", "startTimeUnixNano", "durationMs"}], "metrics": {…}}``.
``service`` is searched with TraceQL, an exact match: the tag search compares values as
case-insensitive substrings, so ``tags = "service.name=checkout"`` also finds
``checkout-worker``. Each trace is fetched from ``/api/v2/traces/{id}`` with ``Accept:
application/json`` (``application/protobuf`` would answer protobuf): ``{"trace":
{"resourceSpans": …}, "status": "PARTIAL", "message": …}`` where ``status``/``message`` appear
only for a trace cut short by the server's size limit; its spans are loaded as they are. The v1
``/api/traces/{id}`` shape (``{"batches": …}``) is read too. A window's traces are spooled as
one ``otlp-json`` document.
"""

from __future__ import annotations

from typing import Any

from parallax.connectors.pull.spec import Auth, DetailSpec, SourceSpec, WindowSpec
from parallax.connectors.pull.vendors.common import Conf

__all__ = ["build", "combine", "traceql"]


def combine(traces: list[Any]) -> dict[str, Any]:
    spans: list[Any] = []
    for doc in traces:
        doc = doc.get("trace", doc) if isinstance(doc, dict) else {}
        spans.extend(doc.get("resourceSpans") or doc.get("batches") or ())
    return {"resourceSpans": spans}


def traceql(service: str) -> str:
    """An exact-match TraceQL spanset filter on the resource's service name."""
    quoted = service.replace("\\", "\\\\").replace('"', '\\"')
    return f'{{ resource.service.name = "{quoted}" }}'


def build(name: str, conf: Conf) -> SourceSpec:
    secret = conf.secret(required=False)
    tags = conf.get("tags")
    params = {"tags": str(tags)} if tags else {"q": traceql(conf.req("service"))}
    return SourceSpec(
        name, "tempo", "traces", "otlp-json", base_url=conf.base_url(), path="/api/search",
        params=params, auth=Auth(secret) if secret else None, records="traces",
        window=WindowSpec("start", "end", "s", conf.num("window_minutes", 60) * 60,
                          limit_param="limit", limit=int(conf.num("limit", 500))),
        detail=DetailSpec("/api/v2/traces/{id}", "traceID", combine),
        headers={"Accept": "application/json"}, **conf.common())
