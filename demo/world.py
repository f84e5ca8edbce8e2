"""The simulated shop: sessions walking a route graph over a fixed simulated week.

Deterministic from the seed: one master ``random.Random`` draws the session start times
(never the wall clock) and one seed per session, so a session's pages, spans and survey
answer depend only on its own stream. Page views are delivered by ``delivery.page_view``.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from parallax.demo.delivery import PageView, SpanRec, Visitor, logn, page_view, side_calls
from parallax.demo.spec import DEMO, Incident, WorldSpec

__all__ = ["PageView", "Purchase", "Session", "Visitor", "counterfactual", "simulate"]

START_US = int(DEMO.start.timestamp()) * 1_000_000  # the demo's; worlds use start_us(spec)
_AGENTS = {
    "mobile": (("iOS", "18.6", "Safari", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) "
                "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1"),
               ("Android", "15", "Chrome", "Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/"
                "537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Mobile Safari/537.36")),
    "desktop": (("Windows", "Windows 10", "Chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
                 "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36"),
                ("Macintosh", "Macintosh 14.6", "Safari", "Mozilla/5.0 (Macintosh; Intel Mac OS X "
                 "14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Safari/605.1.15")),
}


@dataclass(frozen=True, slots=True)
class Purchase:
    seq: int  # the checkout page view it happened on
    transaction_id: str
    at_us: int
    revenue: float
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Session:
    visitor: Visitor
    start_us: int
    pages: tuple[PageView, ...]
    purchase: Purchase | None
    ga4: bool  # analytics consent given: the session appears in the GA4 export
    rng_state: int  # seed of the session's own stream, continued by the survey
    stream: int = 0  # seed the session was drawn from (replayed for counterfactuals)
    side: tuple[SpanRec, ...] = ()  # beacons and async jobs: traces of their own


def start_us(spec: WorldSpec) -> int:
    return int(spec.start.timestamp()) * 1_000_000


def simulate(seed: int, sessions: int, spec: WorldSpec = DEMO) -> list[Session]:
    master = random.Random(seed)
    starts = sorted(_start_us(master, spec) for _ in range(sessions))
    users = [f"cust-{100000 + i}" for i in range(max(20, sessions // 3))]
    seen: dict[str, list[int]] = {}  # user → [pseudo id seed, sessions so far, first visit s]
    out = []
    for start in starts:
        stream = master.getrandbits(64)
        out.append(_session(random.Random(stream), start, users, seen, spec, stream=stream))
    return out


def counterfactual(session: Session, sessions: int, incidents: tuple[Incident, ...],
                   spec: WorldSpec = DEMO) -> Session:
    """The same visitor's session replayed with only ``incidents`` happening: identical until
    the first draw an incident changes, a fresh draw of the same world after it."""
    users = [f"cust-{100000 + i}" for i in range(max(20, sessions // 3))]
    return _session(random.Random(session.stream), session.start_us, users, {}, spec,
                    incidents=incidents, stream=session.stream)


def _start_us(rng: random.Random, spec: WorldSpec) -> int:
    day = rng.randrange(spec.days)
    hour = rng.choices(range(24), weights=spec.hours)[0] - spec.utc_offset_s // 3600
    offset = (day * 86_400 + hour * 3600) * 1_000_000 + rng.randrange(3600 * 1_000_000)
    return start_us(spec) + offset % (spec.days * 86_400 * 1_000_000)


def _session(rng: random.Random, start: int, users: list[str], seen: dict, spec: WorldSpec, *,
             incidents: tuple[Incident, ...] | None = None, stream: int = 0) -> Session:
    incidents = spec.incidents if incidents is None else incidents
    device = "mobile" if rng.random() < spec.devices["mobile"]["share"] else "desktop"
    os_name, os_version, browser, agent = rng.choice(_AGENTS[device])
    place = _pick(rng, {p: p.weight for p in spec.places})
    country, city = place.country, place.city
    user = rng.choice(users) if rng.random() < spec.login_share else None
    if user is not None:
        state = seen.setdefault(user, [rng.getrandbits(31), 0, start // 1_000_000])
        state[1] += 1
        pseudo_seed, number, first = state
    else:
        pseudo_seed, number = rng.getrandbits(31), 1
        first = start // 1_000_000 - (rng.randrange(30 * 86_400) if rng.random() < 0.5 else 0)
    visitor = Visitor(str(uuid.UUID(int=rng.getrandbits(128), version=4)), user,
                      f"{pseudo_seed}.{first}", first, number, device, os_name, os_version,
                      browser, agent, country, city)
    entry = dict(spec.entry)
    if device == "mobile":  # mobile visitors look for stores: device meets route
        entry.update({t: w * 2 for t, w in entry.items() if spec.routes[t].role == "locator"})
    route = _pick(rng, entry)
    home = spec.route_of("home") or next(iter(spec.entry))
    n_pages = 1 + _poisson(rng, 3.8)
    pages: list[PageView] = []
    cart: list[str] = []
    purchase = None
    t, referrer = start, _pick(rng, {"https://www.google.com/": .5, "": .3,
                                     "https://newsletter.example.com/": .2})
    for seq in range(1, n_pages + 1):
        if spec.routes[route].role == "account" and user is None:
            route = home  # the account pages need a login
        nxt = _pick(rng, spec.transitions[route]) if seq < n_pages else None
        to_cart = nxt is not None and spec.routes[nxt].role == "cart"
        pv = page_view(rng, spec, seq, spec.routes[route], visitor, t, referrer, to_cart,
                       incidents)
        pages.append(pv)
        if pv.add_to_cart and pv.product_id:
            cart.append(pv.product_id)
        if (spec.routes[route].role == "checkout" and purchase is None
                and not pv.visible_failure):
            purchase = _purchase(rng, spec, pv, pages, cart)
        t = pv.start_us + int(pv.load_ms * 1000) + int(logn(rng, 25_000, 0.8) * 1000)
        referrer, route = pv.url, nxt
    ga4, state = rng.random() >= spec.ga4_missing, rng.getrandbits(64)
    # Beacons and async jobs draw from a stream of their own: a world without them (the
    # demo) draws exactly what it drew before they existed.
    side = side_calls(random.Random(state ^ 0x5EED), spec, visitor, pages, purchase, incidents)
    return Session(visitor, start, tuple(pages), purchase, ga4, state, stream, side)


def _purchase(rng, spec: WorldSpec, pv: PageView, pages: list[PageView],
              cart: list[str]) -> Purchase | None:
    c = spec.conversion
    logit = (c["intercept"] + c["log_load_s"] * math.log(pv.load_ms / 1000)
             + c["error_seen_in_session"] * any(p.error_seen for p in pages))
    if rng.random() >= _sigmoid(logit):
        return None
    revenue = round(logn(rng, c["revenue_median_eur"], c["revenue_sigma"]), 2)
    items = tuple(cart) or (str(rng.randrange(10000, 100000)),)
    at = pv.start_us + int(pv.load_ms * 1000) + 2_000_000
    return Purchase(pv.seq, f"T{rng.randrange(10**7, 10**8)}", at, revenue, items)


def _pick(rng: random.Random, weights: Mapping):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
