"""Grafana Tempo: search a time window, then fetch each trace as OTLP JSON.

    [sources.tempo]
    type = "tempo"
    base_url = "http://tempo:3200"
    service = "checkout"              # tags = service.name=checkout (or tags = "…" logfmt)
    window_minutes = 60
    limit = 500

``/api/search?tags=…&start=…&end=…&limit=…`` (Unix seconds) lists trace ids; each is fetched
from ``/api/v2/traces/{id}`` (``{"trace": {"resourceSpans": …}}``; the v1 ``batches`` shape is
read too) and a window's traces are spooled as one ``otlp-json`` document.
"""

from __future__ import annotations

from typing import Any

from parallax.connectors.pull.spec import Auth, DetailSpec, SourceSpec, WindowSpec
from parallax.connectors.pull.vendors.common import Conf

__all__ = ["build", "combine"]


def combine(traces: list[Any]) -> dict[str, Any]:
    spans: list[Any] = []
    for doc in traces:
        doc = doc.get("trace", doc) if isinstance(doc, dict) else {}
        spans.extend(doc.get("resourceSpans") or doc.get("batches") or ())
    return {"resourceSpans": spans}


def build(name: str, conf: Conf) -> SourceSpec:
    secret = conf.secret(required=False)
    tags = conf.get("tags") or f"service.name={conf.req('service')}"
    return SourceSpec(
        name, "tempo", "traces", "otlp-json", base_url=conf.base_url(), path="/api/search",
        params={"tags": str(tags)}, auth=Auth(secret) if secret else None, records="traces",
        window=WindowSpec("start", "end", "s", conf.num("window_minutes", 60) * 60,
                          limit_param="limit", limit=int(conf.num("limit", 500))),
        detail=DetailSpec("/api/v2/traces/{id}", "traceID", combine),
        headers={"Accept": "application/json"}, **conf.common())
