"""Writes an OpenTelemetry Collector file-exporter JSONL file shaped like real traffic, for the
trace-ingest benchmark. Deterministic (seeded).

What one page view produces, as the OpenTelemetry SDKs and the Collector write it:

* the **browser** (resource ``shop-web``, the web SDK's resource attributes): a
  ``documentLoad`` span (document-load instrumentation, INTERNAL) with its ``documentFetch``
  child and four or five ``resourceFetch`` children — ``http.url`` with the page or asset URL
  (page URLs sometimes with a query string), ``http.user_agent``,
  ``http.response_content_length``, ``session.id``, and navigation-timing events
  (``fetchStart`` … ``loadEventEnd``);
* the **server** span (resource ``shop-api`` / ``search-svc`` / ``cart-svc``, ≈15 attributes in
  the current semantic conventions: method, route, path, scheme, status, server and client
  address, user agent, protocol, session, user id…);
* the server's **client** spans: an HTTP call to a dependency (``url.full``,
  ``server.address``) and a database call (``db.system``, ``db.query.text``);

with resource attributes as the SDKs detect them (service, version, environment, host, process,
runtime, SDK, Kubernetes pod). Batches of ≈100 spans of one resource a line, as the Collector's
batch processor writes them; ≈600 bytes a span on average. A session (≈3 page views) shares its
session id, user and client address; 1 in 50 requests fails with a 5xx.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson

__all__ = ["write_otlp_jsonl"]

T0 = 1_759_622_400_000_000_000  # 2025-10-05T00:00:00Z in ns
_PAGES = [  # (http.route, concrete path with {n} for an id, service)
    ("/", "/", "shop-api"),
    ("/search", "/search", "search-svc"),
    ("/product/{id}", "/product/{n}", "shop-api"),
    ("/category/{slug}", "/category/base-layers", "shop-api"),
    ("/category/{slug}", "/category/tents", "shop-api"),
    ("/cart", "/cart", "cart-svc"),
    ("/checkout", "/checkout", "cart-svc"),
    ("/account/orders/{id}", "/account/orders/{n}", "shop-api"),
]
_ASSETS = ["/static/app.3f2a9c.js", "/static/vendor.91be04.js", "/static/app.77d1e0.css",
           "/img/hero-autumn.webp", "/img/logo.svg", "/fonts/inter-var.woff2"]
_DEPS = [("payments.example-psp.com", "/v2/charges/{n}", "POST"),
         ("inventory.internal", "/v1/stock/{n}", "GET"),
         ("search-backend.internal", "/_search", "POST"),
         ("recommendations.internal", "/v1/recs", "GET")]
_DB = [("postgresql", "shop", "SELECT id, name, price FROM products WHERE id = $1"),
       ("postgresql", "shop", "SELECT * FROM carts WHERE session_id = $1"),
       ("redis", "0", "GET session:{id}")]
_UA = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/129.0.0.0 Safari/537.36",
       "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
       "like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
       "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
       "Version/17.6 Safari/605.1.15"]
_TIMING = ("fetchStart", "requestStart", "responseEnd", "domInteractive",
           "domContentLoadedEventEnd", "loadEventEnd")


def _kv(key: str, value) -> dict:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}  # int64 as a JSON string
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def _resource(service: str, i: int) -> dict:
    if service == "shop-web":
        attrs = {"service.name": "shop-web", "service.version": "2025.10.2",
                 "deployment.environment.name": "production", "telemetry.sdk.language": "webjs",
                 "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.version": "1.27.0"}
    else:
        attrs = {"service.name": service, "service.version": "1.4.2",
                 "service.namespace": "shop", "deployment.environment.name": "production",
                 "host.name": f"{service}-7d9f8b6c4-{i % 7:x}q{i % 5}z", "host.arch": "amd64",
                 "os.type": "linux", "process.pid": 1 + i % 40,
                 "process.runtime.name": "cpython", "process.runtime.version": "3.12.7",
                 "telemetry.sdk.language": "python", "telemetry.sdk.name": "opentelemetry",
                 "telemetry.sdk.version": "1.27.0",
                 "k8s.namespace.name": "shop", "k8s.pod.name": f"{service}-7d9f8b6c4-{i % 7:x}"}
    return {"attributes": [_kv(k, v) for k, v in attrs.items()]}


class _Writer:
    def __init__(self, f, spans_per_line: int, limit: int) -> None:
        self.f, self.per_line, self.limit = f, spans_per_line, limit
        self.buffers: dict[tuple[str, str], list[dict]] = {}
        self.lines, self.written, self.spans = 0, 0, 0

    def add(self, service: str, scope: str, span: dict) -> None:
        if self.spans >= self.limit:  # the last page view is cut short: exactly n spans
            return
        buf = self.buffers.setdefault((service, scope), [])
        buf.append(span)
        self.spans += 1
        if len(buf) >= self.per_line:
            self.flush(service, scope)

    def flush(self, service: str, scope: str) -> None:
        spans = self.buffers.pop((service, scope), [])
        if not spans:
            return
        version = "0.41.0" if scope.startswith("@opentelemetry") else "0.48b0"
        doc = {"resourceSpans": [{
            "resource": _resource(service, self.lines),
            "scopeSpans": [{"scope": {"name": scope, "version": version}, "spans": spans}],
            "schemaUrl": "https://opentelemetry.io/schemas/1.26.0",
        }]}
        data = orjson.dumps(doc) + b"\n"
        self.f.write(data)
        self.written += len(data)
        self.lines += 1

    def close(self) -> None:
        for service, scope in list(self.buffers):
            self.flush(service, scope)


def _span(rng: random.Random, trace: str, parent: str | None, name: str, kind: int,
          start: int, end: int, attrs: dict, **extra) -> tuple[str, dict]:
    span_id = f"{rng.getrandbits(64) | 1:016x}"
    status = extra.pop("status", {})
    span = {"traceId": trace, "spanId": span_id, **({"parentSpanId": parent} if parent else {}),
            "name": name, "kind": kind, "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(end), "attributes": [_kv(k, v) for k, v in attrs.items()],
            **extra, "status": status}
    return span_id, span


def _page_view(w: _Writer, rng: random.Random, k: int, session: int, start: int) -> None:
    route, path, service = _PAGES[rng.randrange(len(_PAGES))]
    path = path.format(n=rng.randrange(1, 200_000))
    sid = f"{session * 0x9E3779B97F4A7C15 % 2**64:016x}"
    user = f"user-{session % 40_000}@example.com" if session % 3 else None
    client = f"10.{session % 250}.{(session // 250) % 250}.{session % 7 + 1}"
    ua = _UA[session % len(_UA)]
    trace = f"{rng.getrandbits(128):032x}"
    query = f"?utm_source=newsletter&utm_campaign=c{k % 9}" if k % 5 == 0 else ""
    url = f"https://shop.example.com{path}{query}"
    failed = rng.random() < 0.02
    status = 503 if failed else 200

    # Browser: documentLoad → documentFetch, resourceFetch × 2-3.
    load_end = start + rng.randrange(300, 2500) * 1_000_000
    scope = "@opentelemetry/instrumentation-document-load"
    doc_id, doc = _span(rng, trace, None, "documentLoad", 1, start, load_end, {
        "http.url": url, "http.user_agent": ua, "session.id": sid,
    }, events=[{"timeUnixNano": str(start + i * 20_000_000), "name": n}
               for i, n in enumerate(_TIMING)])
    w.add("shop-web", scope, doc)
    fetch_end = start + rng.randrange(40, 250) * 1_000_000
    _, fetch = _span(rng, trace, doc_id, "documentFetch", 1, start, fetch_end, {
        "http.url": url, "http.response_content_length": rng.randrange(8_000, 90_000),
        "session.id": sid})
    w.add("shop-web", scope, fetch)
    for asset in rng.sample(_ASSETS, 4 + k % 2):
        a0 = fetch_end + rng.randrange(1, 50) * 1_000_000
        _, res = _span(rng, trace, doc_id, "resourceFetch", 1, a0,
                       a0 + rng.randrange(5, 300) * 1_000_000, {
                           "http.url": f"https://cdn.shop.example.com{asset}",
                           "http.response_content_length": rng.randrange(1_000, 400_000),
                           "session.id": sid})
        w.add("shop-web", scope, res)

    # Server span, ≈15 attributes.
    s0 = start + 2_000_000
    s1 = fetch_end - 3_000_000
    attrs = {
        "http.request.method": "GET", "http.route": route, "url.path": path,
        "url.scheme": "https", "http.response.status_code": status,
        "server.address": "shop.example.com", "server.port": 443, "client.address": client,
        "user_agent.original": ua, "network.protocol.version": "1.1",
        "network.peer.address": f"10.244.{k % 8}.{k % 200 + 2}", "network.peer.port": 40_000
        + k % 20_000, "session.id": sid,
        "http.response.body.size": rng.randrange(8_000, 90_000),
    }
    if query:
        attrs["url.query"] = query[1:]
    if user:
        attrs["enduser.id"] = user
    if failed:
        attrs["error.type"] = "503"
    server_id, server = _span(rng, trace, doc_id, f"GET {route}", 2, s0, s1, attrs,
                              status={"code": 2, "message": "upstream timeout"} if failed
                              else {})
    scope = "opentelemetry.instrumentation.flask"
    w.add(service, scope, server)

    # Client spans: an HTTP dependency and a database call.
    host, dep_path, method = _DEPS[rng.randrange(len(_DEPS))]
    c0 = s0 + 1_000_000
    c1 = c0 + rng.randrange(5, 80) * 1_000_000
    _, client_span = _span(rng, trace, server_id, method, 3, c0, c1, {
        "http.request.method": method,
        "url.full": f"https://{host}{dep_path.format(n=rng.randrange(1, 10**6))}",
        "server.address": host, "server.port": 443,
        "http.response.status_code": 504 if failed else 200,
        "network.protocol.version": "1.1"},
        status={"code": 2} if failed else {})
    w.add(service, "opentelemetry.instrumentation.requests", client_span)
    system, db, stmt = _DB[rng.randrange(len(_DB))]
    d0 = c1 + 500_000
    _, db_span = _span(rng, trace, server_id, f"{stmt.split()[0]} {db}", 3, d0,
                       d0 + rng.randrange(1, 15) * 1_000_000, {
                           "db.system": system, "db.namespace": db, "db.query.text": stmt,
                           "server.address": f"{system}.internal", "server.port": 5432})
    w.add(service, f"opentelemetry.instrumentation.{system}", db_span)


def write_otlp_jsonl(path: Path, n_spans: int, *, spans_per_line: int = 100,
                     seed: int = 1) -> int:
    """Write ``n_spans`` spans; returns bytes written."""
    rng = random.Random(seed)
    with open(path, "wb") as f:
        w = _Writer(f, spans_per_line, n_spans)
        k = 0
        while w.spans < n_spans:
            session = k // 3
            _page_view(w, rng, k, session, T0 + k * 40_000_000 + rng.randrange(40_000_000))
            k += 1
        w.close()
    return w.written

