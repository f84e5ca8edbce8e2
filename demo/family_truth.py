"""The planted truth of a family shop (``family.draw_spec``): which routes and dependencies
carry which truth, and the mechanism that produces it — a failing dependency whose failures
become error pages, a slow one, a payment provider whose failures the customer sees, a page's
own slow backend; a design effect; a failing dependency hidden behind a fallback, or a slow
page whose customers do not mind (silent); a page too few customers answer on
(inconclusive); beacons and async jobs in traces of their own; a short outage for
`parallax incident` to cost out. Each route's ``why`` says what was planted.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import datetime, timedelta

from parallax.demo.spec import Dependency, Incident, Route

__all__ = ["plant"]

_DELIVERY_ROLES = ("product", "listing", "checkout", "cart", "search", "content")
_DB_NAMES = ("inventory-db", "catalog-db", "stock-db", "orders-db", "product-store")
_HTTP_NAMES = ("pricing-service", "search-backend", "recommendation-engine", "cms-api",
               "reviews-service", "availability-api", "content-api", "promo-engine")
_EXTERNAL = (("payments", "api.{v}-pay.example", "/v1/charges"),
             ("maps", "maps.{v}-geo.example", "/v1/places/nearby"),
             ("beacon", "collect.{v}-insights.example", "/v1/events"),
             ("mail", "api.{v}-mail.example", "/v3/mail/send"))
_VENDORS = ("acme", "swift", "nimbus", "orbit", "pulse", "quanta")


def plant(rng: random.Random, routes: dict[str, Route], start: datetime, slope: float,
           ) -> tuple[dict[str, Route], dict[str, Dependency], tuple[Incident, ...], dict]:
    """Assign every route and dependency its truth and the mechanism that produces it."""
    names = _Names(rng)
    ts = list(routes)
    roles = {t: routes[t].role for t in ts}
    classes: dict[str, str] = {}
    low = [t for t in ts if roles[t] in ("help", "page", "locator", "content")]
    if low and rng.random() < 0.75:  # a page too few customers answer on to tell
        classes[rng.choice(low)] = "inconclusive"
    pool = [t for t in ts if t not in classes and roles[t] in _DELIVERY_ROLES]
    for t in rng.sample(pool, min(len(pool), rng.choice((1, 2, 2, 3)))):
        classes[t] = "delivery"
    free = [t for t in ts if t not in classes and roles[t] != "home"]
    if free and rng.random() < 0.85:
        classes[free.pop(rng.randrange(len(free)))] = "mixed"
    for _ in range(rng.choice((1, 1, 2))):
        if free:
            classes[free.pop(rng.randrange(len(free)))] = "design"
    silent = [t for t in ts if t not in classes]
    for _ in range(rng.choice((1, 1, 2))):
        if len(silent) > 2:  # keep healthy routes to compare with
            classes[silent.pop(rng.randrange(len(silent)))] = "silent"
    deps: dict[str, Dependency] = {}
    incidents: list[Incident] = []
    out: dict[str, Route] = {}
    shared = _healthy(rng, names, "http")  # e.g. the search backend several pages call
    deps[shared.name] = shared
    for t in ts:
        r, cls = routes[t], classes.get(t, "ok")
        calls: list[tuple[str, float]] = []
        if roles[t] in ("home", "search", "listing") or rng.random() < 0.3:
            calls.append((shared.name, rng.choice((0.5, 1.0))))
        design, load_slope, server_ms, why = 0.0, 1.0, r.server_ms, ""
        weight = r.survey_weight  # set from traffic once the shop is drawn
        if cls in ("delivery", "mixed"):
            dep, extra, why = _harm(rng, names, r, start)
            if dep is not None:
                deps[dep.name] = dep
                calls.append((dep.name, 1.0))
            incidents += extra
            if dep is None:  # the page's own backend is slow
                server_ms = rng.uniform(1800, 3500)
        if cls in ("design", "mixed", "inconclusive"):
            design = rng.uniform(0.9, 1.6) if cls == "design" else rng.uniform(0.7, 1.2)
            why = (why + "; and " if why else "") + f"a design effect of {design:.2f} log-odds"
        if cls == "silent":
            if rng.random() < 0.5:
                dep = _fallback(rng, names)
                deps[dep.name] = dep
                calls.append((dep.name, 1.0))
                why = (f"{dep.name} fails on {dep.fail_rate:.0%} of calls but a fallback hides "
                       "it: degraded in the traces, feedback at the site's normal")
            else:  # slow, and its customers do not mind: slope 0, at most as unhappy as on
                # a healthy page as the site delivers it (about 1.3 s)
                load_slope, server_ms = 0.0, rng.uniform(2600, 4200)
                design = slope * math.log(1.3) * rng.uniform(-1.0, 1.0)
                why = ("the page is slow (own backend) but its customers' answers do not "
                       "follow load time: degraded, customers not unhappier than normal")
        if cls == "inconclusive":
            why += ", on a page too few customers answer on to tell"
        if cls == "ok":
            why = "normal delivery, no design effect"
            if calls == [] and rng.random() < 0.5:
                dep = _healthy(rng, names, rng.choice(("http", "db")))
                deps[dep.name] = dep
                calls.append((dep.name, 1.0))
        out[t] = replace(r, deps=tuple(calls), design=design, survey_weight=weight,
                         verdict=cls, why=why, load_slope=load_slope, server_ms=server_ms)
    for dep in _side(rng, names):
        deps[dep.name] = dep
    incidents += _outage(rng, deps, incidents, start)
    notes = {"classes": {t: classes.get(t, "ok") for t in ts}}
    return out, deps, tuple(incidents), notes


def _outage(rng: random.Random, deps: dict[str, Dependency], incidents: list[Incident],
            start: datetime) -> list[Incident]:
    """A few hours of one troubled dependency failing outright — what `parallax incident` must
    cost out — on one that has no incident window of its own (its pre-period stays clean)."""
    busy = {i.dependency for i in incidents}
    pool = [d for d in deps.values() if d.verdict == "delivery" and d.name not in busy]
    if not pool:
        return []
    dep = rng.choice(pool)
    at = start + timedelta(days=rng.randint(2, 4), hours=rng.randint(8, 19))
    hours = rng.randint(2, 6)
    return [Incident(f"{dep.name}-outage", dep.name, at, at + timedelta(hours=hours), 1.0,
                     rng.uniform(0.85, 0.95), f"{dep.name} down for {hours} hours")]


class _Names:
    """Unique dependency names for one shop."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.vendor = rng.choice(_VENDORS)

    def take(self, pool: tuple[str, ...]) -> str:
        left = [n for n in pool if n not in self.used]
        name = self.rng.choice(left) if left else f"{self.rng.choice(pool)}-{len(self.used)}"
        self.used.add(name)
        return name

    def external(self, kind: str) -> tuple[str, str]:
        host, path = next((h, p) for k, h, p in _EXTERNAL if k == kind)
        host = host.format(v=self.vendor)
        self.used.add(host)
        return host, path


def _healthy(rng: random.Random, names: _Names, system: str) -> Dependency:
    if system == "db":
        name = names.take(_DB_NAMES)
        return Dependency(name, "postgresql", name, name.split("-")[0], rng.uniform(8, 40),
                          rng.uniform(0.0005, 0.004), 40, 0.0, "error_page", "ok",
                          "fast and reliable")
    name = names.take(_HTTP_NAMES)
    return Dependency(name, "http", name, f"/v{rng.randint(1, 3)}/{name.split('-')[0]}",
                      rng.uniform(30, 150), rng.uniform(0.0005, 0.004), 3000, 0.5, "error_page",
                      "ok", "fast and reliable")


def _harm(rng: random.Random, names: _Names, r: Route, start: datetime,
          ) -> tuple[Dependency | None, list[Incident], str]:
    """A delivery problem for route ``r``: a failing dependency, a slow one, a payment
    provider whose failures the customer sees, or the page's own slow backend (None)."""
    kinds = ["errors", "slow", "own"] + (["visible"] * 2 if r.role == "checkout" else [])
    kind = rng.choice(kinds)
    if kind == "own":
        return None, [], "its own backend is slow (page load p75 well above 2.5 s)"
    if kind == "visible":
        host, path = names.external("payments")
        fail = rng.uniform(0.12, 0.3)
        dep = Dependency(host, "http", host, path, rng.uniform(300, 700), fail, 10000, 0.5,
                         "failure_page", "delivery",
                         f"fails on {fail:.0%} of charges; customers see 'payment failed'",
                         peer_service=rng.random() < 0.5)
        return dep, [], f"{host} fails on {fail:.0%} of charges, shown to the customer"
    if kind == "slow":
        name = names.take(_HTTP_NAMES)
        median = rng.uniform(1500, 3500)
        dep = Dependency(name, "http", name, f"/v2/{name.split('-')[0]}", median, 0.003, 8000,
                         0.5, "error_page", "delivery", f"slow on every call (median "
                         f"{median:.0f} ms)")
        return dep, [], f"{name} is slow on every call (median {median:.0f} ms)"
    system = rng.choice(("db", "http"))
    name = names.take(_DB_NAMES if system == "db" else _HTTP_NAMES)
    chronic = rng.random() < 0.5
    base = rng.uniform(0.18, 0.35) if chronic else rng.uniform(0.002, 0.01)
    dep = Dependency(name, "postgresql" if system == "db" else "http", name,
                     name.split("-")[0] if system == "db" else f"/v1/{name.split('-')[0]}",
                     rng.uniform(15, 120), base, 40 if system == "db" else 5000, 0.5,
                     "error_page", "delivery", "its failures become error pages")
    incidents = []
    if chronic:
        why = f"{name} fails on {base:.0%} of calls and the page answers 503"
    else:
        at = start + timedelta(days=rng.randint(0, 3), hours=rng.randint(0, 23))
        days = rng.uniform(1.5, 3.0)
        fail = rng.uniform(0.5, 0.75)
        incidents.append(Incident(f"{name}-errors", name, at, at + timedelta(days=days), 1.5,
                                  fail, f"{name} failing {fail:.0%} of calls for "
                                  f"{days:.1f} days"))
        why = f"{name} fails on {fail:.0%} of calls for {days:.1f} days; the page answers 503"
    return dep, incidents, why


def _fallback(rng: random.Random, names: _Names) -> Dependency:
    if rng.random() < 0.5:
        host, path = names.external("maps")
        name = host
    else:
        name = names.take(("recommendation-engine", "reviews-service", "promo-engine"))
        host, path = name, f"/v1/{name.split('-')[0]}"
    fail = rng.uniform(0.08, 0.4)
    return Dependency(name, "http", host, path, rng.uniform(60, 140), fail, 300, 1.0, "fallback",
                      "silent", f"fails on {fail:.0%} of calls; the page falls back to cached "
                      "content, customers do not see it", peer_service=name != host)


def _side(rng: random.Random, names: _Names) -> list[Dependency]:
    """Calls outside page loads: the browser's analytics beacon, the mail an order sends."""
    out = []
    if rng.random() < 0.75:
        host, path = names.external("beacon")
        fail = rng.uniform(0.08, 0.2) if rng.random() < 0.6 else rng.uniform(0.0005, 0.004)
        verdict = "silent" if fail > 0.05 else "ok"
        out.append(Dependency(host, "http", host, path, rng.uniform(50, 140), fail, 2000, 0.3,
                              "fallback", verdict,
                              f"a beacon the browser sends after the page loaded, in a trace of "
                              f"its own; fails on {fail:.1%} of calls, invisible to customers",
                              caller="browser", call_p=rng.uniform(0.5, 1.0),
                              peer_service=False))
    if rng.random() < 0.5:
        host, path = names.external("mail")
        fail = rng.uniform(0.1, 0.3) if rng.random() < 0.5 else rng.uniform(0.0005, 0.004)
        verdict = "silent" if fail > 0.05 else "ok"
        out.append(Dependency(host, "http", host, path, rng.uniform(80, 200), fail, 3000, 0.3,
                              "fallback", verdict,
                              f"an async job after each order (a trace of its own, the "
                              f"customer's id only); fails on {fail:.1%} of calls",
                              caller="worker", call_p=1.0, peer_service=False))
    return out
