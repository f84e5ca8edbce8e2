"""The planted truth of a simulated shop: routes, dependencies, incidents and the true models.

A world is one ``WorldSpec``: the simulation (``world.py``, ``delivery.py``, ``survey.py``)
draws only from it and ``truth.json`` is written from it, so what the attribution engine
should find is stated once. ``DEMO`` is the demo world; ``family.py`` draws other shops from a
seed (other routes, names, frameworks, time zones, effects). Times are simulated: a fixed
window from ``start``, never the wall clock.

The module-level names (``ROUTES``, ``DEPENDENCIES``, …) are the demo world's, kept for the
tests and tools that read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from parallax.demo.vitals import VitalsPlan

__all__ = [
    "CONVERSION", "DAYS", "DEMO", "DEPENDENCIES", "DESIGN_CHANGES", "DEVICES", "ENTRY",
    "FEEDBACK", "INCIDENTS", "ROUTES", "SITE", "SLOWDOWNS", "START", "SURVEY", "TRANSITIONS",
    "DesignChange", "Dependency", "Incident", "Place", "Route", "Slowdown", "WorldSpec",
]


@dataclass(frozen=True)
class Route:
    template: str
    service: str  # backend serving the page
    server_ms: float  # median own server time, dependencies excluded
    deps: tuple[tuple[str, float], ...]  # (dependency, probability the page calls it)
    design: float  # logit shift of poor feedback regardless of delivery
    survey_weight: float  # how often the in-page survey picks this page
    verdict: str  # expected verdict at the default size
    why: str
    # What the page is for: home | search | listing | product | cart | checkout | account |
    # help | content | locator | page. Behaviour hangs on the role, never on the name.
    role: str = "page"
    http_route: str = ""  # the template as the backend's framework spells it ("" = template)
    # One value pool per placeholder of the template, in order: ("int", lo, hi),
    # ("pick", choice, …), ("alnum", length) or ("uuid",).
    values: tuple[tuple[Any, ...], ...] = ()
    load_slope: float = 1.0  # multiplies the feedback model's load slope on this route
    title: str = ""

    @property
    def route_attr(self) -> str:
        return self.http_route or self.template


@dataclass(frozen=True)
class Dependency:
    name: str  # as the spans name it: peer.service, else server.address
    system: str  # "http" or a db.system value
    host: str  # server.address
    path: str  # url path (http) or table (db)
    median_ms: float
    fail_rate: float  # outside incidents
    timeout_ms: float  # a failed call lasts this long (HTTP timeout; a db error fails fast)
    timeout_share: float  # HTTP: share of failures that time out; the rest are fast 502s
    on_failure: str  # error_page: 503 to the customer | failure_page: shown | fallback: hidden
    verdict: str
    why: str
    # Who calls it: "server" (in the page's trace), "browser" (a beacon sent after the page
    # loaded, in a trace of its own with the session id) or "worker" (an async job after a
    # purchase, in a trace of its own with the customer's id when logged in).
    caller: str = "server"
    call_p: float = 1.0  # browser/worker: probability a page (purchase) makes the call
    peer_service: bool = True  # the span carries peer.service (else only server.address)


@dataclass(frozen=True)
class Incident:
    id: str
    dependency: str
    starts: datetime
    ends: datetime
    latency_factor: float
    fail_rate: float
    description: str


@dataclass(frozen=True)
class Slowdown:
    """A route's own server time (dependencies excluded) multiplied by ``factor``."""

    id: str
    route: str
    starts: datetime
    ends: datetime
    factor: float
    description: str


@dataclass(frozen=True)
class DesignChange:
    """A release that changed a page's design. ``effect`` is its true logit shift of poor
    feedback from ``at`` on (the demo plants 0: whatever changes after it is delivery)."""

    id: str
    route: str
    at: datetime
    effect: float
    description: str
    concurrent: tuple[str, ...]  # what slows the route's backend in the same week


@dataclass(frozen=True)
class Place:
    country: str
    city: str
    region: str
    weight: float
    lat: float
    lon: float


@dataclass(frozen=True)
class WorldSpec:
    name: str
    start: datetime
    days: int
    site: str  # scheme and host of the shop
    tz: str  # the shop's time zone: traffic hours, survey export dates, GA4 event dates
    routes: Mapping[str, Route]
    dependencies: Mapping[str, Dependency]
    incidents: tuple[Incident, ...]
    slowdowns: tuple[Slowdown, ...]
    design_changes: tuple[DesignChange, ...]
    devices: Mapping[str, Mapping[str, float]]
    feedback: Mapping[str, float]
    survey: Mapping[str, Any]
    conversion: Mapping[str, float]
    entry: Mapping[str, float]
    transitions: Mapping[str, Mapping[str, float]]
    places: tuple[Place, ...]
    services: Mapping[str, Mapping[str, str]]  # resource attributes per service
    hours: tuple[float, ...]  # local hour-of-day traffic weights
    browser_service: str = "web-frontend"
    semconv: str = "new"  # span attributes: "new" (url.path, …) or "old" (http.target, …)
    language: str = "de-de"  # browser language GA4 reports
    survey_language: str = "DE"  # most respondents' survey language (the rest answer in EN)
    login_share: float = 0.5  # sessions of a logged-in customer
    ga4_missing: float = 0.04  # sessions without analytics consent
    browser_spans: bool = True  # the browser's documentLoad spans are exported
    analytics: bool = True  # a GA4 export exists
    cost_incident: str | None = None  # the incident the workflows truth costs out
    contact_centre: bool = False
    notes: Mapping[str, Any] = field(default_factory=dict)  # what a family draw chose
    # Core Web Vitals collected and two cases planted (demo/vitals.py); None: no vitals at all
    vitals: VitalsPlan | None = None

    @property
    def host(self) -> str:
        return self.site.split("://", 1)[1]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    @property
    def utc_offset_s(self) -> int:
        offset = self.start.astimezone(self.zone).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0

    def route_of(self, role: str) -> str | None:
        """The first route with this role (the shop's checkout, home, …)."""
        return next((t for t, r in self.routes.items() if r.role == role), None)


START = datetime(2026, 10, 5, tzinfo=UTC)
DAYS = 7
SITE = "https://shop.example.com"


ROUTES: dict[str, Route] = {r.template: r for r in (
    Route("/", "shop-api", 80, (("search-backend", 0.5),), 0.0, 1.0, "healthy",
          "normal delivery, no design effect", role="home", title="Shop – Home"),
    Route("/search", "shop-api", 60, (("search-backend", 1.0),), 0.0, 1.0, "healthy",
          "normal delivery, no design effect", role="search", title="Search results"),
    Route("/product/{id}", "shop-api", 70, (("inventory-db", 1.0),), 0.0, 1.0, "delivery",
          "inventory-db failures become 503 pages (incident inventory-db-errors); "
          "no design effect", role="product", values=(("int", 10000, 100000),),
          title="Product"),
    Route("/cart", "shop-api", 60, (("inventory-db", 1.0), ("pricing-service", 1.0)), 0.7, 1.5,
          "mixed", "pricing-service is slow all week AND the cart has a design problem",
          role="cart", title="Your cart"),
    Route("/checkout", "shop-api", 120, (("payments.example-psp.com", 1.0),), 0.0, 5.0,
          "delivery", "payment provider slow and timing out (incident psp-outage); "
          "no design effect", role="checkout", title="Checkout"),
    Route("/account/orders", "account-api", 90, (("orders-db", 1.0),), 1.4, 4.0, "design",
          "normal delivery, customers are more negative here: genuine design problem",
          role="account", title="My orders"),
    Route("/help/contact", "account-api", 50, (), 0.9, 2.0, "inconclusive",
          "a design effect is planted but the page gets too few responses to tell",
          role="help", title="Contact us"),
    Route("/store-locator", "shop-api", 70, (("maps.example-geo.com", 1.0),), 0.0, 1.0,
          "silent", "maps API fails for days (incident maps-degraded) but a cached fallback "
          "hides it: delivery degraded in the traces, feedback at baseline", role="locator",
          title="Find a store"),
)}

DEPENDENCIES: dict[str, Dependency] = {d.name: d for d in (
    Dependency("search-backend", "http", "search-backend", "/products/_search", 110, 0.002,
               2000, 0.5, "error_page", "healthy", "fast and reliable"),
    Dependency("inventory-db", "postgresql", "inventory-db", "inventory", 15, 0.03, 40, 0.0,
               "error_page", "delivery", "failures surface as 503 on product pages"),
    Dependency("pricing-service", "http", "pricing-service", "/v2/quote", 1100, 0.003, 5000, 0.5,
               "error_page", "delivery", "slow on every cart view (the delivery half of /cart)"),
    Dependency("payments.example-psp.com", "http", "payments.example-psp.com", "/v1/charges",
               450, 0.01, 10000, 0.5, "failure_page", "delivery",
               "slow and timing out in the outage; customers see 'payment failed'"),
    Dependency("orders-db", "postgresql", "orders-db", "orders", 25, 0.002, 40, 0.0,
               "error_page", "healthy", "fast and reliable"),
    Dependency("maps.example-geo.com", "http", "maps.example-geo.com", "/v1/places/nearby", 90,
               0.01, 300, 1.0, "fallback", "silent",
               "fails often in its incident, but the page falls back to a cached store list"),
)}

INCIDENTS: tuple[Incident, ...] = (
    Incident("psp-outage", "payments.example-psp.com", datetime(2026, 10, 7, 6, tzinfo=UTC),
             datetime(2026, 10, 9, 6, tzinfo=UTC), 5.0, 0.35,
             "payment provider degraded: 5x latency, 35% of charges fail (half time out "
             "after 10 s, half answer 502)"),
    Incident("inventory-db-errors", "inventory-db", datetime(2026, 10, 9, 12, tzinfo=UTC),
             datetime(2026, 10, 12, tzinfo=UTC), 1.5, 0.6,
             "inventory database failover loop: 60% of queries fail, pages return 503"),
    Incident("maps-degraded", "maps.example-geo.com", datetime(2026, 10, 10, 12, tzinfo=UTC),
             datetime(2026, 10, 12, tzinfo=UTC), 2.0, 0.45,
             "maps API failing 45% of calls (300 ms timeout); cached fallback shown"),
    # A few hours of a dependency failing outright, in the evening peak: what `parallax
    # incident` must cost out (the pre-period before it is clean for the routes it touches).
    Incident("inventory-db-crash", "inventory-db", datetime(2026, 10, 8, 17, tzinfo=UTC),
             datetime(2026, 10, 8, 22, tzinfo=UTC), 1.0, 0.9,
             "inventory database primary crashed: 90% of queries fail for 5 hours, product "
             "and cart pages return 503"),
)

# The checkout backend is slow from the night of the redesign's release to the end of the week.
SLOWDOWNS: tuple[Slowdown, ...] = (
    Slowdown("checkout-backend-slow", "/checkout", datetime(2026, 10, 7, tzinfo=UTC),
             datetime(2026, 10, 12, tzinfo=UTC), 12.0,
             "shop-api checkout handler 12x slower (a fraud-check rule scanning every order)"),
)

# A checkout redesign released the night the checkout backend slows down, a few hours before
# the payment provider's outage: the design itself changes nothing, the backend's slowness that
# week does — what `parallax design-check` must not blame on the design.
DESIGN_CHANGES: tuple[DesignChange, ...] = (
    DesignChange("checkout-redesign", "/checkout", datetime(2026, 10, 7, tzinfo=UTC), 0.0,
                 "new one-page checkout layout", ("checkout-backend-slow", "psp-outage")),
)

# Device mix and the confounder: mobile is slower (render, network) AND more negative.
DEVICES = {
    "mobile": {"share": 0.55, "render_ms": 1200.0, "rtt_ms": 150.0},
    "desktop": {"share": 0.45, "render_ms": 650.0, "rtt_ms": 40.0},
}

# Poor feedback (NPS 0-6) ~ logistic of what the surveyed page view delivered.
FEEDBACK = {
    "intercept": -2.0,
    "log_load_s": 1.1,  # per ln(load seconds) of the documentLoad span
    "error_seen": 2.2,  # the page came back 5xx
    "dependency_failure": 1.5,  # a failure the customer saw (failure_page dependencies)
    "mobile": 0.5,
}

SURVEY = {
    "show_probability": 0.75,  # a session sees the in-page survey on one of its pages
    "respond_if_poor": 0.50,  # self-selection: unhappy customers answer more
    "respond_if_not_poor": 0.32,
    "missing_session_id": 0.30,  # embedded data not captured (tag fired before consent)
    # Preview rows are rejected by the loader (not customer feedback) and count against its
    # 1 % reject-rate limit: at most one per 150 real answers, at most 5.
    "preview_rows": 5,
    "responses_per_preview": 150,
    "partial_share": 0.02,  # answered Q1, left before Q2
}

# Purchase at /checkout when the charge succeeded: logistic, falls with bad delivery.
CONVERSION = {
    "intercept": 1.6, "log_load_s": -0.9, "error_seen_in_session": -1.5,
    "revenue_median_eur": 65.0, "revenue_sigma": 0.6,
}

ENTRY = {"/": 0.53, "/product/{id}": 0.25, "/search": 0.08, "/store-locator": 0.08,
         "/account/orders": 0.06}

TRANSITIONS: dict[str, dict[str, float]] = {
    "/": {"/search": .33, "/product/{id}": .34, "/store-locator": .09, "/account/orders": .15,
          "/help/contact": .01, "/cart": .08},
    "/search": {"/product/{id}": .70, "/search": .20, "/": .075, "/help/contact": .005,
                "/store-locator": .02},
    "/product/{id}": {"/product/{id}": .27, "/cart": .35, "/search": .18, "/": .15,
                      "/help/contact": .01, "/store-locator": .04},
    "/cart": {"/checkout": .65, "/product/{id}": .25, "/": .08, "/help/contact": .02},
    "/checkout": {"/": .5, "/account/orders": .5},
    "/account/orders": {"/": .5, "/product/{id}": .3, "/help/contact": .05,
                        "/account/orders": .15},
    "/help/contact": {"/": .7, "/account/orders": .3},
    "/store-locator": {"/": .5, "/product/{id}": .3, "/store-locator": .2},
}

# Berlin-local hour weights (shop traffic peaks in the evening).
HOURS = (1, .6, .4, .3, .3, .5, 1, 2, 3, 3.5, 4, 4, 4.5, 4.5, 4, 4, 4, 4.5, 5, 5.5, 5.5, 4.5, 3,
         2)
PLACES = (Place("Germany", "Berlin", "Berlin", 0.55, 52.52, 13.405),
          Place("Germany", "Hamburg", "Hamburg", 0.18, 53.551, 9.994),
          Place("Germany", "Munich", "Bavaria", 0.12, 48.137, 11.575),
          Place("Austria", "Vienna", "Vienna", 0.07, 48.208, 16.374),
          Place("Switzerland", "Zurich", "Zurich", 0.05, 47.377, 8.542),
          Place("Netherlands", "Amsterdam", "North Holland", 0.03, 52.368, 4.904))
_SDK = {"telemetry.sdk.name": "opentelemetry", "telemetry.sdk.version": "1.37.0"}
SERVICES = {
    "web-frontend": {"service.name": "web-frontend", "telemetry.sdk.language": "webjs",
                     "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.version": "1.26.0"},
    "shop-api": {"service.name": "shop-api", "service.version": "2026.10.1",
                 "deployment.environment.name": "production", "telemetry.sdk.language": "python",
                 **_SDK},
    "account-api": {"service.name": "account-api", "service.version": "2026.9.4",
                    "deployment.environment.name": "production",
                    "telemetry.sdk.language": "python", **_SDK},
}

DEMO = WorldSpec(
    name="demo", start=START, days=DAYS, site=SITE, tz="Europe/Berlin", routes=ROUTES,
    dependencies=DEPENDENCIES, incidents=INCIDENTS, slowdowns=SLOWDOWNS,
    design_changes=DESIGN_CHANGES, devices=DEVICES, feedback=FEEDBACK, survey=SURVEY,
    conversion=CONVERSION, entry=ENTRY, transitions=TRANSITIONS, places=PLACES,
    services=SERVICES, hours=HOURS, cost_incident="inventory-db-crash", contact_centre=True,
)
