"""A family of shops: ``draw_spec(seed)`` draws a whole ``WorldSpec`` — which pages the shop
has and what they are called, the web framework spelling ``http.route``, which routes and
dependencies carry which truth (delivery, design, mixed, silent, inconclusive, ok; beacons and
async jobs in traces of their own), effect sizes, traffic and survey rates, consent gaps,
missing sources and the time zone. The demo world is one fixed shop; the family is what the
evaluation scores on, so a method tuned on one shop shows when it does not generalise.

Every draw comes from ``random.Random(("family", seed))``: the same seed is the same shop.
The expected verdicts follow from what was planted, stated in each route's ``why``; nothing
here knows how the engine decides.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from parallax.demo.spec import Dependency, Incident, Place, Route, WorldSpec

__all__ = ["draw_spec"]

# Page roles, each with the ways shops name it: (template, value pool per placeholder).
_NAMES: dict[str, tuple[tuple[str, tuple], ...]] = {
    "home": (("/", ()),),
    "listing": (("/category/{slug}", ("cat",)), ("/c/{slug}", ("cat",)),
                ("/collections/{handle}", ("cat",)), ("/shop/{department}", ("cat",)),
                ("/browse/{category}", ("cat",))),
    "product": (("/product/{id}", ("int",)), ("/p/{sku}", ("sku",)),
                ("/products/{handle}", ("item",)), ("/item/{item_id}", ("int",)),
                ("/dp/{asin}", ("asin",))),
    "search": (("/search", ()), ("/s", ()), ("/find", ())),
    "cart": (("/cart", ()), ("/basket", ()), ("/bag", ())),
    "checkout": (("/checkout", ()), ("/checkout/payment", ()), ("/order/pay", ()),
                 ("/checkout/confirm", ())),
    "account": (("/account/orders", ()), ("/my/orders", ()),
                ("/account/orders/{order_id}", ("int",)), ("/profile/orders", ())),
    "help": (("/help/contact", ()), ("/support/{topic}", ("topic",)), ("/faq", ()),
             ("/help/{article}", ("topic",))),
    "content": (("/blog/{slug}", ("post",)), ("/stories/{slug}", ("post",)),
                ("/guides/{slug}", ("post",)), ("/journal/{post}", ("post",))),
    "locator": (("/store-locator", ()), ("/stores", ()), ("/stores/{city}", ("city",))),
    "page": (("/deals", ()), ("/sale/{campaign}", ("campaign",)), ("/wishlist", ()),
             ("/gift-cards", ())),
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_OPTIONAL = ("account", "help", "content", "locator", "page")
_TITLES = {"home": "Home", "listing": "Category", "product": "Product", "search": "Search",
           "cart": "Cart", "checkout": "Checkout", "account": "Orders", "help": "Help",
           "content": "Stories", "locator": "Stores", "page": "Offers"}

_THEMES = (
    {"cat": ("base-layers", "rain-jackets", "trail-running", "climbing-gear", "tents",
             "sleeping-bags", "hiking-boots"),
     "item": ("merino-crew-200", "storm-shell-jacket", "ultralight-tent-2p", "trail-pro-gtx"),
     "post": ("how-to-layer-for-winter", "best-hikes-2026", "tent-care-guide", "packing-list")},
    {"cat": ("laptops", "smartphones", "headphones", "smart-home", "monitors", "cameras"),
     "item": ("noise-cancelling-x2", "ultrabook-14", "pixel-phone-pro", "4k-monitor-27"),
     "post": ("laptop-buying-guide", "wifi-6e-explained", "best-headphones-2026")},
    {"cat": ("womens-dresses", "mens-shirts", "sneakers", "accessories", "new-in", "denim"),
     "item": ("linen-summer-dress", "oxford-shirt-slim", "canvas-low-top", "wool-scarf"),
     "post": ("autumn-lookbook", "how-to-style-denim", "capsule-wardrobe")},
    {"cat": ("fiction", "cookbooks", "childrens-books", "travel-guides", "comics"),
     "item": ("the-long-winter", "pasta-every-day", "atlas-of-islands", "night-trains"),
     "post": ("books-of-the-month", "author-interview-2026", "reading-challenge")},
    {"cat": ("garden-tools", "plants", "outdoor-furniture", "lighting", "kitchen"),
     "item": ("oak-bench-150", "led-string-lights", "herb-planter", "cast-iron-pan"),
     "post": ("balcony-garden-ideas", "winter-plant-care", "kitchen-organising")},
)
_TOPICS = ("returns", "shipping", "payment-options", "warranty", "order-status")
_CAMPAIGNS = ("black-friday", "summer-sale", "clearance", "spring-drop")

# Frameworks: how each spells a placeholder (name, integer?) in http.route.
_STYLES = {
    "express": lambda n, i: f":{n}",
    "fastapi": lambda n, i: f"{{{n}}}",
    "flask": lambda n, i: f"<int:{n}>" if i else f"<{n}>",
    "nextjs": lambda n, i: f"[{n}]",
    "aspnet": lambda n, i: f"{{{n}:int}}" if i else f"{{{n}}}",
}

# (time zone, continent, sub-continent, browser language, survey language, places)
_REGIONS = (
    ("Europe/Berlin", "Europe", "Western Europe", "de-de", "DE",
     (("Germany", "Berlin", "Berlin", 52.52, 13.405),
      ("Germany", "Cologne", "North Rhine-Westphalia", 50.937, 6.96),
      ("Austria", "Graz", "Styria", 47.07, 15.439))),
    ("America/New_York", "Americas", "Northern America", "en-us", "EN",
     (("United States", "New York", "New York", 40.713, -74.006),
      ("United States", "Boston", "Massachusetts", 42.36, -71.059),
      ("United States", "Atlanta", "Georgia", 33.749, -84.388))),
    ("America/Los_Angeles", "Americas", "Northern America", "en-us", "EN",
     (("United States", "Los Angeles", "California", 34.052, -118.244),
      ("United States", "Seattle", "Washington", 47.606, -122.332),
      ("United States", "Portland", "Oregon", 45.515, -122.679))),
    ("Europe/London", "Europe", "Northern Europe", "en-gb", "EN",
     (("United Kingdom", "London", "England", 51.507, -0.128),
      ("United Kingdom", "Manchester", "England", 53.481, -2.243),
      ("Ireland", "Dublin", "Leinster", 53.35, -6.26))),
    ("Asia/Tokyo", "Asia", "Eastern Asia", "ja-jp", "JA",
     (("Japan", "Tokyo", "Tokyo", 35.676, 139.65), ("Japan", "Osaka", "Osaka", 34.694, 135.502),
      ("Japan", "Sapporo", "Hokkaido", 43.062, 141.354))),
    ("Australia/Sydney", "Oceania", "Australia and New Zealand", "en-au", "EN",
     (("Australia", "Sydney", "New South Wales", -33.869, 151.209),
      ("Australia", "Melbourne", "Victoria", -37.814, 144.963),
      ("New Zealand", "Auckland", "Auckland", -36.848, 174.763))),
    ("America/Sao_Paulo", "Americas", "South America", "pt-br", "PT",
     (("Brazil", "São Paulo", "São Paulo", -23.551, -46.633),
      ("Brazil", "Rio de Janeiro", "Rio de Janeiro", -22.907, -43.173),
      ("Brazil", "Curitiba", "Paraná", -25.429, -49.271))),
)
_HOURS = (1, .6, .4, .3, .3, .5, 1, 2, 3, 3.5, 4, 4, 4.5, 4.5, 4, 4, 4, 4.5, 5, 5.5, 5.5, 4.5,
          3, 2)

# How routes lead to each other, by role (weights; roles a shop lacks are dropped).
_GRAPH: dict[str, dict[str, float]] = {
    "home": {"listing": .22, "search": .15, "product": .18, "content": .07, "locator": .06,
             "account": .1, "help": .06, "cart": .06, "page": .08},
    "listing": {"product": .55, "listing": .15, "search": .08, "home": .1, "cart": .05,
                "page": .04, "help": .03},
    "search": {"product": .6, "search": .15, "listing": .08, "home": .1, "help": .05},
    "product": {"product": .2, "cart": .3, "listing": .12, "search": .1, "home": .1,
                "help": .05, "locator": .04, "content": .04, "page": .04},
    "cart": {"checkout": .65, "product": .2, "home": .1, "help": .05},
    "checkout": {"home": .4, "account": .45, "help": .15},
    "account": {"home": .4, "product": .2, "help": .2, "account": .2},
    "help": {"home": .5, "account": .3, "help": .2},
    "content": {"product": .35, "listing": .2, "home": .2, "content": .25},
    "locator": {"home": .45, "product": .25, "locator": .3},
    "page": {"product": .4, "listing": .2, "home": .2, "page": .2},
}
_ENTRY = {"home": .4, "listing": .15, "product": .18, "search": .05, "content": .07,
          "locator": .05, "account": .06, "page": .06, "help": .03}
_DELIVERY_ROLES = ("product", "listing", "checkout", "cart", "search", "content")
_SERVICE_NAMES = (("storefront", "shop-web", "catalog-api", "web-bff"),
                  ("checkout-api", "orders-svc", "commerce-api"),
                  ("account-svc", "customer-api", "profile-api"))


def draw_spec(seed: int) -> WorldSpec:
    rng = random.Random(f"family:{seed}")
    tz, continent, sub, lang, survey_lang, places = rng.choice(_REGIONS)
    start = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=rng.randrange(0, 320))
    start = start.replace(hour=0) - timedelta(hours=_offset_h(start, tz))  # local midnight
    theme = rng.choice(_THEMES)
    roles = ["home", "listing", "product", "search", "cart", "checkout",
             *rng.sample(_OPTIONAL, rng.randint(2, 5))]
    services = _services(rng)
    routes = _routes(rng, roles, theme, places, services)
    feedback = {"intercept": rng.uniform(-2.4, -1.6), "log_load_s": rng.uniform(0.8, 1.4),
                "error_seen": rng.uniform(1.6, 2.6), "dependency_failure": rng.uniform(1.2, 2.0),
                "mobile": rng.uniform(0.0, 0.6)}
    routes, deps, incidents, notes = _plant(rng, routes, start, feedback["log_load_s"])
    poor = rng.uniform(0.4, 0.65)
    survey = {"show_probability": rng.uniform(0.6, 0.9), "respond_if_poor": poor,
              "respond_if_not_poor": poor * rng.uniform(0.45, 0.85),
              "missing_session_id": rng.uniform(0.05, 0.45), "preview_rows": 3,
              "responses_per_preview": 150, "partial_share": 0.02}
    mobile = rng.uniform(0.4, 0.7)
    devices = {"mobile": {"share": mobile, "render_ms": rng.uniform(900, 1400),
                          "rtt_ms": rng.uniform(90, 200)},
               "desktop": {"share": 1 - mobile, "render_ms": rng.uniform(500, 800),
                           "rtt_ms": rng.uniform(25, 60)}}
    sources = rng.random()
    cost = next((i.id for i in incidents if i.id.endswith("-outage")), None)
    spec = WorldSpec(
        name="family", start=start, days=7, site=f"https://{_host(rng)}", tz=tz,
        routes=routes, dependencies=deps, incidents=incidents, slowdowns=(), design_changes=(),
        devices=devices, feedback=feedback, survey=survey,
        conversion={"intercept": rng.uniform(1.2, 2.0), "log_load_s": -rng.uniform(0.5, 1.1),
                    "error_seen_in_session": -rng.uniform(1.0, 2.0),
                    "revenue_median_eur": rng.choice((25.0, 45.0, 65.0, 120.0)),
                    "revenue_sigma": 0.6},
        entry=_weights(rng, {t: _ENTRY.get(r.role, 0.0) for t, r in routes.items()}),
        transitions={t: _next(rng, t, routes) for t in routes},
        places=tuple(Place(c, city, region, w, lat, lon) for (c, city, region, lat, lon), w
                     in zip(places, (0.6, 0.25, 0.15), strict=True)),
        services={"web-frontend": {"service.name": "web-frontend",
                                   "telemetry.sdk.language": "webjs",
                                   "telemetry.sdk.name": "opentelemetry",
                                   "telemetry.sdk.version": "1.26.0"},
                  **{name: {"service.name": name, "service.version": f"2026.{i + 3}.{seed % 9}",
                            "deployment.environment.name": "production",
                            "telemetry.sdk.language": "python",
                            "telemetry.sdk.name": "opentelemetry",
                            "telemetry.sdk.version": "1.37.0"}
                     for i, (name, _) in enumerate(services)}},
        hours=_HOURS, semconv="old" if rng.random() < 0.35 else "new", language=lang,
        survey_language=survey_lang, login_share=rng.uniform(0.3, 0.6),
        ga4_missing=rng.uniform(0.02, 0.3), browser_spans=not 0.0 <= sources < 0.15,
        analytics=not 0.15 <= sources < 0.25, cost_incident=cost,
        notes={**notes, "seed": seed, "sessions": rng.randrange(4000, 9001, 500),
               "continent": continent, "sub_continent": sub,
               "frameworks": {name: style for name, style in services}},
    )
    return _survey_weights(rng, spec)


def _survey_weights(rng: random.Random, spec: WorldSpec) -> WorldSpec:
    """Where the in-page survey is shown: rarely visited pages get it more often (inverse to
    their traffic in a pilot run), so every page but the planted "too few answers" one hears
    from enough customers — as a shop that wants feedback from every page would set it up."""
    from parallax.demo.world import simulate

    views = {t: 1 for t in spec.routes}
    for s in simulate(rng.getrandbits(32), 300, spec):
        for pv in s.pages:
            views[pv.route] += 1
    total = sum(views.values())
    raw = {t: (total / n) ** 0.8 * rng.uniform(0.8, 1.25) for t, n in views.items()}
    mid = sorted(raw.values())[len(raw) // 2]
    routes = {t: replace(r, survey_weight=(raw[t] / mid) * (0.02 if r.verdict == "inconclusive"
                                                             else 1.0))
              for t, r in spec.routes.items()}
    return replace(spec, routes=routes)


def _offset_h(at: datetime, tz: str) -> int:
    from zoneinfo import ZoneInfo

    offset = at.astimezone(ZoneInfo(tz)).utcoffset()
    return int(offset.total_seconds() // 3600) if offset is not None else 0


def _host(rng: random.Random) -> str:
    return f"www.{rng.choice(('northpeak', 'voltbox', 'linenline', 'pageturn', 'greenhaus'))}" \
           f"-{rng.randrange(10, 99)}.example"


def _services(rng: random.Random) -> list[tuple[str, str]]:
    """(service name, framework) for the storefront, the checkout and the account backends."""
    return [(rng.choice(names), rng.choice(tuple(_STYLES))) for names in _SERVICE_NAMES]


def _service_of(role: str, services: list[tuple[str, str]]) -> tuple[str, str]:
    if role in ("cart", "checkout"):
        return services[1]
    return services[2] if role in ("account", "help") else services[0]


def _routes(rng: random.Random, roles: list[str], theme: dict, places: tuple,
            services: list[tuple[str, str]]) -> dict[str, Route]:
    pools = {"int": ("int", 1000, 999999), "sku": ("alnum", 8), "asin": ("alnum", 10),
             "cat": ("pick", *theme["cat"]), "item": ("pick", *theme["item"]),
             "post": ("pick", *theme["post"]), "topic": ("pick", *_TOPICS),
             "campaign": ("pick", *_CAMPAIGNS),
             "city": ("pick", *(p[1].lower().replace(" ", "-") for p in places))}
    out = {}
    for role in roles:
        template, kinds = rng.choice(_NAMES[role])
        service, style = _service_of(role, services)
        values = tuple(pools[k] for k in kinds)
        spelled = template
        for name, pool in zip(_PLACEHOLDER.findall(template), values, strict=True):
            spelled = spelled.replace(f"{{{name}}}", _STYLES[style](name, pool[0] == "int"), 1)
        out[template] = Route(template, service, rng.uniform(40, 140), (), 0.0,
                              rng.uniform(0.8, 1.5), "ok", "", role=role, http_route=spelled,
                              values=values, title=_TITLES[role])
    return out


def _weights(rng: random.Random, base: dict[str, float]) -> dict[str, float]:
    """``base`` with each weight jittered (×0.6–1.6) and zero weights dropped, summing to 1."""
    out = {k: w * rng.uniform(0.6, 1.6) for k, w in base.items() if w > 0}
    total = sum(out.values())
    return {k: w / total for k, w in out.items()}


def _next(rng: random.Random, template: str, routes: dict[str, Route]) -> dict[str, float]:
    by_role: dict[str, list[str]] = {}
    for t, r in routes.items():
        by_role.setdefault(r.role, []).append(t)
    base = {t: w / len(by_role[role])
            for role, w in _GRAPH[routes[template].role].items() for t in by_role.get(role, ())}
    return _weights(rng, base or {next(iter(routes)): 1.0})


# --- the planted truth --------------------------------------------------------------------

_DB_NAMES = ("inventory-db", "catalog-db", "stock-db", "orders-db", "product-store")
_HTTP_NAMES = ("pricing-service", "search-backend", "recommendation-engine", "cms-api",
               "reviews-service", "availability-api", "content-api", "promo-engine")
_EXTERNAL = (("payments", "api.{v}-pay.example", "/v1/charges"),
             ("maps", "maps.{v}-geo.example", "/v1/places/nearby"),
             ("beacon", "collect.{v}-insights.example", "/v1/events"),
             ("mail", "api.{v}-mail.example", "/v3/mail/send"))
_VENDORS = ("acme", "swift", "nimbus", "orbit", "pulse", "quanta")


def _plant(rng: random.Random, routes: dict[str, Route], start: datetime, slope: float,
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
        self.rng, self.used = rng, set()
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
