"""Writes an OpenTelemetry Collector file-exporter JSONL file of realistic spans (≈700 bytes a
span: 9–10 attributes, resource and scope), for the trace-ingest benchmark. Deterministic.

As in real traffic, the spans of one session (≈20 spans) share its session id, user id and
client address; every span has its own trace and span id; 2 % are 5xx errors.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson

__all__ = ["write_otlp_jsonl"]

_ROUTES = ["/", "/search", "/product/{id}", "/cart", "/checkout", "/account/orders",
           "/help/contact", "/store-locator"]
_SERVICES = ["shop-api", "search-svc", "cart-svc", "payments-gw", "web-frontend"]
_PEERS = ["payments.example-psp.com", "inventory-db", "search-backend", "redis-cache"]


def _s(k: str, v: str) -> dict:
    return {"key": k, "value": {"stringValue": v}}


def _i(k: str, v: int) -> dict:
    return {"key": k, "value": {"intValue": str(v)}}


def write_otlp_jsonl(path: Path, n_spans: int, *, spans_per_line: int = 100, seed: int = 1) -> int:
    """Write ``n_spans`` spans; returns bytes written."""
    rng = random.Random(seed)
    t0 = 1_759_622_400_000_000_000  # 2025-10-05T00:00:00Z in ns
    written = 0
    with open(path, "wb") as f:
        done = 0
        line_no = 0
        while done < n_spans:
            n = min(spans_per_line, n_spans - done)
            service = _SERVICES[line_no % len(_SERVICES)]
            spans = []
            for j in range(n):
                k = done + j
                session = k // 20
                trace = f"{rng.getrandbits(128):032x}"
                start = t0 + k * 1_000_000 + rng.randrange(1_000_000)
                dur = int(rng.lognormvariate(17.5, 0.8))  # ≈ 40 ms median, in ns
                route = _ROUTES[k % len(_ROUTES)]
                status = 500 if rng.random() < 0.02 else 200
                client = k % 3 == 0
                attrs = [
                    _s("http.request.method", "GET" if k % 4 else "POST"),
                    _s("http.route", route),
                    _s("url.path", route.replace("{id}", str(rng.randrange(10**6)))),
                    _i("http.response.status_code", status),
                    _s("session.id", f"{session * 0x9E3779B97F4A7C15 % 2**64:016x}"),
                    _s("enduser.id", f"user-{session % 50_000}"),
                    _s("client.address",
                       f"10.{session % 250}.{(session // 250) % 250}.{session % 7}"),
                ]
                if client:
                    attrs.append(_s("server.address", _PEERS[k % len(_PEERS)]))
                span = {
                    "traceId": trace,
                    "spanId": f"{rng.getrandbits(64):016x}",
                    "parentSpanId": f"{rng.getrandbits(64):016x}" if k % 2 else "",
                    "name": f"GET {route}",
                    "kind": 3 if client else 2,
                    "startTimeUnixNano": str(start),
                    "endTimeUnixNano": str(start + dur),
                    "attributes": attrs,
                    "status": {"code": 2} if status >= 500 else {},
                }
                spans.append(span)
            doc = {"resourceSpans": [{
                "resource": {"attributes": [
                    _s("service.name", service), _s("service.version", "1.4.2"),
                    _s("host.name", f"node-{line_no % 16}"),
                    _s("telemetry.sdk.language", "python"),
                ]},
                "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.flask",
                                          "version": "0.48b0"}, "spans": spans}],
                "schemaUrl": "https://opentelemetry.io/schemas/1.26.0",
            }]}
            data = orjson.dumps(doc) + b"\n"
            f.write(data)
            written += len(data)
            done += n
            line_no += 1
    return written
