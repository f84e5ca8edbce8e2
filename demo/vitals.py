"""Core Web Vitals in a simulated shop (issue 22), planted only when a world asks for them.

``with_vitals(spec)`` adds two pages to the shop, linked from its home page, for the two cases:
  layout-shift route  its pages shift under the customer's thumb (CLS above 0.1 on about two
                      thirds of them, p75 ≈ 0.29) while they load fast; a page whose CLS is
                      above 0.1 makes poor feedback likelier (``cls_effect`` on the logit, on
                      every route) — its expected verdict is ``delivery`` (through CLS)
  slow-input route    its pages answer taps slowly (INP p75 ≈ 530 ms, poor) and nobody
                      minds — expected verdict ``silent``
Every other route's vitals are good (CLS p75 ≈ 0.02, INP p75 ≈ 110 ms, LCP below its load).

Each page view's vitals come from a stream of their own, seeded by the page's trace id; a
world without a plan (the demo, every family shop) draws nothing here and its files are
byte-identical to before. (A world with a plan is another shop: its customers also walk the
two new pages.) The GA4 export reports them as Google's web-vitals
library sends them to GA4 (events ``LCP`` / ``CLS`` / ``INP`` with ``metric_id``,
``metric_value``, ``metric_delta``, ``metric_rating``, ``debug_target``), CLS twice: a first
delta, then the final value under the same ``metric_id``.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass

from parallax.demo.spec import Route, WorldSpec

__all__ = ["VitalsPlan", "page_vitals", "vitals_events", "with_vitals"]

# Google's thresholds (good, poor): the ratings the library reports.
THRESHOLDS = {"LCP": (2500.0, 4000.0), "INP": (200.0, 500.0), "CLS": (0.1, 0.25)}


@dataclass(frozen=True)
class VitalsPlan:
    cls_route: str | None  # the layout-shift route (None: not planted)
    inp_route: str | None  # the slow-input route
    cls_effect: float = 2.0  # logit of poor feedback on a page whose CLS is above 0.1
    interaction_share: float = 0.6  # pages with a tap or click (INP needs one)


def with_vitals(spec: WorldSpec) -> WorldSpec:
    """The same shop with vitals collected and two pages added for the two cases, reached
    from its home page (and leading back to it and to a product): no existing route's truth
    changes, and the healthy routes stay the site's normal."""
    home = spec.route_of("home") or next(iter(spec.entry))
    onward = spec.route_of("product") or home
    cls_route, inp_route = _free(spec, "/deals"), _free(spec, "/compare")
    base = spec.routes[home]
    routes = {**spec.routes,
              cls_route: Route(
                  cls_route, base.service, 60.0, (), 0.0, 8.0, "delivery",
                  "layout shifts (CLS above 0.1 on about two thirds of its pages, p75 ≈ 0.29) "
                  "make "
                  "customers unhappy; load time normal, no design effect", role="content",
                  title="Deals"),
              inp_route: Route(
                  inp_route, base.service, 60.0, (), 0.0, 5.0, "silent",
                  "slow responses to taps (INP p75 ≈ 530 ms, poor) that customers do not "
                  "mind; load time normal, no design effect", role="content",
                  title="Compare products")}
    # A small slice of the home page's clicks (the shop's own links there sum to 1): the new
    # pages take little from the routes whose truths were planted for their sample sizes (the
    # design route's ≈ 50 answers at 3,000 sessions), and the survey picks them often — a
    # promotion page with a feedback tab — so they still get answers of their own.
    transitions = {**spec.transitions,
                   home: {**spec.transitions[home], cls_route: 0.15, inp_route: 0.1},
                   cls_route: {home: 0.5, onward: 0.5},
                   inp_route: {home: 0.4, onward: 0.6}}
    return dataclasses.replace(spec, routes=routes, transitions=transitions,
                               vitals=VitalsPlan(cls_route, inp_route))


def _free(spec: WorldSpec, template: str) -> str:
    """``template``, or a numbered variant the shop does not use yet."""
    n, out = 1, template
    while out in spec.routes:
        n += 1
        out = f"{template}-{n}"
    return out


def page_vitals(spec: WorldSpec, route: str, trace_id: str, load_ms: float
                ) -> dict[str, float]:
    """One page view's LCP (ms), CLS and, when the customer interacted, INP (ms)."""
    plan = spec.vitals
    if plan is None:
        return {}
    rng = random.Random(f"vitals:{trace_id}")
    out = {"LCP": round(load_ms * rng.uniform(0.55, 0.85), 1)}
    cls_median = 0.15 if route == plan.cls_route else 0.01
    out["CLS"] = round(min(rng.lognormvariate(math.log(cls_median), 1.0), 3.0), 4)
    if rng.random() < plan.interaction_share:
        inp_median = 380.0 if route == plan.inp_route else 80.0
        out["INP"] = float(round(rng.lognormvariate(math.log(inp_median), 0.5)))
    return out


def layout_shift_logit(spec: WorldSpec, route: str, trace_id: str, load_ms: float) -> float:
    """What the page's layout shifts add to the logit of poor feedback (0 without a plan)."""
    if spec.vitals is None:
        return 0.0
    cls = page_vitals(spec, route, trace_id, load_ms)["CLS"]
    return spec.vitals.cls_effect if cls > THRESHOLDS["CLS"][0] else 0.0


def _rating(metric: str, value: float) -> str:
    good, poor = THRESHOLDS[metric]
    return "good" if value <= good else "needs-improvement" if value <= poor else "poor"


def vitals_events(spec: WorldSpec, route: str, trace_id: str, load_ms: float, at_us: int,
                  ) -> list[tuple[int, str, list[tuple[str, object]]]]:
    """(time, event name, params) of the page's web-vitals events, as the library's GA4
    snippet sends them: LCP when the page is hidden or first tapped, CLS as a first delta then
    its final value, INP when the page is hidden."""
    values = page_vitals(spec, route, trace_id, load_ms)
    if not values:
        return []
    rng = random.Random(f"vitals-ids:{trace_id}")
    hidden = at_us + int(rng.uniform(8, 20) * 1_000_000)
    out: list[tuple[int, str, list[tuple[str, object]]]] = []
    for metric, value in values.items():
        metric_id = f"v4-{at_us // 1000}-{rng.randrange(10**12, 10**13)}"
        cls_route = spec.vitals.cls_route if spec.vitals else None
        target = ("div.promo-banner>img" if metric == "CLS" and route == cls_route
                  else "main>h1" if metric == "LCP" else "button.add-to-cart")
        if metric == "CLS" and value > 0.0:  # the first report, then the final one
            first = round(value * rng.uniform(0.3, 0.7), 4)
            out.append((at_us + 1_000_000, metric, _params(metric, metric_id, first, first,
                                                           target)))
            out.append((hidden, metric, _params(metric, metric_id, value,
                                                round(value - first, 4), target)))
        else:
            out.append((hidden if metric != "LCP" else at_us + 500_000, metric,
                        _params(metric, metric_id, value, value, target)))
    return out


def _params(metric: str, metric_id: str, value: float, delta: float, target: str,
            ) -> list[tuple[str, object]]:
    return [("value", delta), ("metric_id", metric_id), ("metric_value", value),
            ("metric_delta", delta), ("metric_rating", _rating(metric, value)),
            ("debug_target", target)]
