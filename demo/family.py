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

import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from parallax.demo.family_truth import plant
from parallax.demo.spec import Place, Route, WorldSpec

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
    routes, deps, incidents, notes = plant(rng, routes, start, feedback["log_load_s"])
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
