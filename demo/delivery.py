"""One page view delivered: the browser's documentLoad, the backend's SERVER span and its
CLIENT calls to dependencies, with the timings and failures the planted incidents cause.

The customer's wait (``load_ms``) is the documentLoad span: network, server time (own work
plus each dependency call in turn) and rendering, slower on mobile. A dependency failure
either aborts the request with a 503 (``error_page``), is shown to the customer
(``failure_page``) or is hidden by a fallback (``fallback``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from parallax.demo.spec import Dependency, Incident, Route, WorldSpec

__all__ = ["PageView", "SpanRec", "Visitor", "logn", "page_view", "side_calls"]

_TERMS = ("running+shoes", "rain+jacket", "backpack", "socks", "trail+shoes", "gift+card")
_SERVER_SCOPE = "opentelemetry.instrumentation.fastapi"
_DOC_SCOPE = "@opentelemetry/instrumentation-document-load"
_FETCH_SCOPE = "@opentelemetry/instrumentation-fetch"
_WORKER_SCOPE = "opentelemetry.instrumentation.celery"
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True, slots=True)
class SpanRec:
    trace_id: str
    span_id: str
    parent_id: str | None
    service: str
    scope: str
    name: str
    kind: int  # OTLP SpanKind: 1 internal, 2 server, 3 client
    start_ns: int
    end_ns: int
    attrs: tuple[tuple[str, Any], ...]
    error: str | None = None  # status message when the span's status is ERROR
    events: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class PageView:
    seq: int
    route: str
    url: str
    referrer: str
    start_us: int
    load_ms: float  # documentLoad duration: what the customer waited
    status: int  # HTTP status of the page's server span
    visible_failure: bool  # a dependency failure the customer was shown
    failed_deps: tuple[str, ...]
    trace_id: str
    spans: tuple[SpanRec, ...]
    product_id: str | None
    add_to_cart: bool

    @property
    def error_seen(self) -> bool:
        return self.status >= 500


@dataclass(frozen=True, slots=True)
class Visitor:
    session_id: str
    user_id: str | None
    pseudo_id: str
    first_visit_s: int
    session_number: int
    device: str
    os: str
    os_version: str
    browser: str
    user_agent: str
    country: str
    city: str


def page_view(rng, spec: WorldSpec, seq: int, route: Route, v: Visitor, t_us: int,
              referrer: str, to_cart: bool, incidents: tuple[Incident, ...]) -> PageView:
    dev = spec.devices[v.device]
    path, product = _path(rng, route)
    url = spec.site + path + _query(rng, route.role)
    trace, load_id, fetch_id, server_id = (_hex(rng, 128), _hex(rng, 64), _hex(rng, 64),
                                           _hex(rng, 64))
    rtt = logn(rng, dev["rtt_ms"], 0.3)
    own = logn(rng, route.server_ms, 0.35) * _slowdown(spec, route.template, t_us)
    t0 = t_us * 1000
    server_start = t0 + _ns(2 + rtt / 2)
    cursor = own * 0.4  # ms into the server span where the first dependency call starts
    status, visible, failed, clients = 200, False, [], []
    for name, p in route.deps:
        if rng.random() >= p:
            continue
        dep = spec.dependencies[name]
        dur, fail, timeout = _call(rng, dep, _incident(name, t_us, incidents))
        clients.append(_client_span(trace, _hex(rng, 64), server_id, route.service, dep,
                                    server_start + _ns(cursor), dur, fail, timeout))
        cursor += dur + 0.5
        if fail:
            failed.append(name)
            visible |= dep.on_failure == "failure_page"
            if dep.on_failure == "error_page":
                status = 503
                break  # the request is aborted
    server_ms = cursor + own * 0.6
    fetch_end = server_start + _ns(server_ms + rtt / 2)
    render = logn(rng, dev["render_ms"], 0.35)  # the error page renders the full chrome too
    load_end = fetch_end + _ns(render)
    attrs_common = (("session.id", v.session_id),)
    method = "POST" if route.role == "checkout" else "GET"
    server_attrs = _server_attrs(spec, method, route.route_attr, path, status, v.user_agent)
    server_attrs.append(attrs_common[0])
    if v.user_id:
        server_attrs.append(("enduser.id", v.user_id))
    if visible:
        server_attrs.append(("app.payment.outcome", "failed"))
    server = SpanRec(trace, server_id, fetch_id, route.service, _SERVER_SCOPE,
                     f"{method} {route.route_attr}", 2, server_start,
                     server_start + _ns(server_ms), tuple(server_attrs),
                     error=f"HTTP {status}" if status >= 500 else None)
    browser = (
        SpanRec(trace, load_id, None, spec.browser_service, _DOC_SCOPE, "documentLoad", 1, t0,
                load_end, (("http.url", url), ("http.user_agent", v.user_agent), *attrs_common),
                events=(("fetchStart", t0),
                        ("domContentLoadedEventEnd", fetch_end + _ns(render / 2)),
                        ("loadEventEnd", load_end))),
        SpanRec(trace, fetch_id, load_id, spec.browser_service, _DOC_SCOPE, "documentFetch", 1,
                t0 + 1_000_000, fetch_end, (("http.url", url), *attrs_common)),
    )
    spans = (*browser, server, *clients) if spec.browser_spans else (server, *clients)
    return PageView(seq, route.template, url, referrer, t_us, (load_end - t0) / 1e6, status,
                    visible, tuple(failed), trace, spans, product,
                    to_cart and product is not None)


def side_calls(rng: random.Random, spec: WorldSpec, v: Visitor, pages: list[PageView],
               purchase: Any, incidents: tuple[Incident, ...]) -> tuple[SpanRec, ...]:
    """Dependency calls outside any page load, each in a trace of its own: the browser's
    beacons after a page loaded (with the session id) and the async jobs a purchase starts
    (with the customer's id when logged in). Their failures are invisible to the customer."""
    out: list[SpanRec] = []
    for dep in spec.dependencies.values():
        if dep.caller == "browser":
            for pv in pages:
                if rng.random() >= dep.call_p:
                    continue
                at_us = pv.start_us + int(pv.load_ms * 1000) + int(rng.uniform(0.2, 3.0) * 1e6)
                dur, fail, timeout = _call(rng, dep, _incident(dep.name, at_us, incidents))
                attrs = (("session.id", v.session_id),)
                out.append(_client_span(_hex(rng, 128), _hex(rng, 64), None,
                                        spec.browser_service, dep, at_us * 1000, dur, fail,
                                        timeout, attrs, _FETCH_SCOPE))
        elif dep.caller == "worker" and purchase is not None and rng.random() < dep.call_p:
            at_us = purchase.at_us + int(rng.uniform(1.0, 90.0) * 1e6)
            dur, fail, timeout = _call(rng, dep, _incident(dep.name, at_us, incidents))
            trace, job = _hex(rng, 128), _hex(rng, 64)
            user = (("enduser.id", v.user_id),) if v.user_id else ()
            out.append(SpanRec(trace, job, None, "order-worker", _WORKER_SCOPE,
                               "process order.confirmed", 5, at_us * 1000,
                               at_us * 1000 + _ns(dur + 15),
                               (("messaging.system", "rabbitmq"),
                                ("messaging.destination.name", "order.confirmed"), *user)))
            out.append(_client_span(trace, _hex(rng, 64), job, "order-worker", dep,
                                    at_us * 1000 + _ns(5), dur, fail, timeout, user,
                                    _WORKER_SCOPE))
    return tuple(out)


def _path(rng, route: Route) -> tuple[str, str | None]:
    """A concrete path of the route's template, and the product id on product pages."""
    if not route.values:
        return route.template, None
    parts, drawn = route.template.split("{"), []
    for pool in route.values:
        kind = pool[0]
        if kind == "int":
            drawn.append(str(rng.randrange(pool[1], pool[2])))
        elif kind == "pick":
            drawn.append(rng.choice(pool[1:]))
        elif kind == "alnum":
            drawn.append("".join(rng.choices(_ALNUM, k=pool[1])).upper())
        else:  # uuid
            drawn.append(f"{rng.getrandbits(128):032x}")
    path = parts[0] + "".join(value + part.split("}", 1)[1]
                              for value, part in zip(drawn, parts[1:], strict=True))
    return path, (drawn[0] if route.role == "product" else None)


def _server_attrs(spec: WorldSpec, method: str, route: str, path: str, status: int,
                  agent: str) -> list[tuple[str, Any]]:
    if spec.semconv == "old":  # the pre-1.20 HTTP conventions many services still emit
        return [("http.method", method), ("http.route", route), ("http.target", path),
                ("http.scheme", "https"), ("net.host.name", spec.host),
                ("http.status_code", status), ("http.user_agent", agent)]
    return [("http.request.method", method), ("http.route", route), ("url.path", path),
            ("url.scheme", "https"), ("server.address", spec.host),
            ("http.response.status_code", status), ("user_agent.original", agent)]


def _call(rng, dep: Dependency, inc: Incident | None) -> tuple[float, bool, bool]:
    """One call's duration, whether it failed, and whether it timed out."""
    fail = rng.random() < (inc.fail_rate if inc else dep.fail_rate)
    # A failure either times out or (HTTP only) comes back fast as a 502.
    timeout = fail and (dep.system != "http" or rng.random() < dep.timeout_share)
    dur = (dep.timeout_ms * rng.uniform(1.0, 1.01) if timeout
           else logn(rng, dep.median_ms * (0.5 if fail else inc.latency_factor if inc
                                            else 1.0), 0.4))
    return dur, fail, timeout


def _client_span(trace, span_id, parent, service, dep: Dependency, start_ns, dur, fail, timeout,
                 extra: tuple = (), scope: str = "") -> SpanRec:
    peer = [("peer.service", dep.name)] if dep.peer_service else []
    if dep.system == "http":
        attrs: list[tuple[str, Any]] = [
            ("http.request.method", "POST" if "charges" in dep.path else "GET"),
            ("url.full", f"https://{dep.host}{dep.path}"), ("server.address", dep.host),
            ("server.port", 443), *peer]
        if timeout:
            attrs.append(("error.type", "timeout"))
        else:  # semconv: error.type is the status code of a failed response
            attrs += [("http.response.status_code", 502 if fail else 200)]
            attrs += [("error.type", "502")] if fail else []
        name, scope = attrs[0][1], scope or "opentelemetry.instrumentation.httpx"
        message = (f"timeout after {dep.timeout_ms:.0f} ms" if timeout
                   else "HTTP 502 Bad Gateway" if fail else None)
    else:
        attrs = [("db.system", dep.system), ("db.namespace", dep.path),
                 ("db.operation.name", "SELECT"), ("server.address", dep.host),
                 ("server.port", 5432), *peer]
        attrs += [("error.type", "OperationalError")] if fail else []
        name, scope = f"SELECT {dep.path}", scope or "opentelemetry.instrumentation.psycopg"
        message = ("connection to server failed: the database system is starting up" if fail
                   else None)
    return SpanRec(trace, span_id, parent, service, scope, name, 3, start_ns,
                   start_ns + _ns(dur), (*attrs, *extra), error=message)


def _query(rng, role: str) -> str:
    if role == "search":
        return "?q=" + rng.choice(_TERMS)
    if role == "product" and rng.random() < 0.3:
        return rng.choice(("?ref=home", "?utm_source=newsletter&utm_medium=email"))
    if role == "locator" and rng.random() < 0.5:
        return "?city=" + rng.choice(("berlin", "hamburg", "munich"))
    return ""


def _incident(dependency: str, t_us: int, incidents: tuple[Incident, ...]) -> Incident | None:
    for inc in incidents:
        if inc.dependency == dependency and inc.starts.timestamp() * 1e6 <= t_us < \
                inc.ends.timestamp() * 1e6:
            return inc
    return None


def _slowdown(spec: WorldSpec, route: str, t_us: int) -> float:
    for s in spec.slowdowns:
        if s.route == route and s.starts.timestamp() * 1e6 <= t_us < s.ends.timestamp() * 1e6:
            return s.factor
    return 1.0


def logn(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma)


def _hex(rng: random.Random, bits: int) -> str:
    return f"{rng.getrandbits(bits) | 1:0{bits // 4}x}"  # | 1: an all-zero id is invalid


def _ns(ms: float) -> int:
    return int(round(ms * 1_000_000))
