"""Planted self-selection (off unless asked for): who answers the survey depends on what the
page delivered and on who the customer is, and every offer (the survey was shown) is
recorded as a GA4 ``survey_impression`` event in a file of its own.

- On a share of the routes (``route_share``, drawn), the log-odds of answering rise by
  ``load_log_odds`` per ln(load seconds / 2.5): slow pages are likelier to be answered.
- Customers of one country (drawn among those with at least 10 % of the places' weight)
  answer with log-odds higher by ``segment_log_odds``, whatever they were served.

Everything drawn here comes from a stream of its own (``selection:<seed>``, and per session
``offer:<session seed>`` for the moment an unanswered survey was shown): with the option off
no draw of the world changes, so every file a build writes without it is byte-identical.

Truth (``truth.json`` → ``selection``): the planted routes and country, and per route the
mean planted log-odds of poor feedback above good delivery (load at most 2.5 s, no error, no
failure) over the OFFERED page views and over the answered ones — the gap between the two is
what self-selection does to a route's delivery part.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from parallax.demo.ga4 import offer_row
from parallax.demo.spec import WorldSpec
from parallax.demo.survey import Response, shown
from parallax.demo.world import PageView, Session, Visitor

__all__ = ["OFFERS", "Plan", "PlantedSelection", "plan", "write_offers"]

OFFERS = "analytics/ga4_survey_offers.ndjson"
GOOD_S = 2.5


@dataclass(frozen=True)
class PlantedSelection:
    load_log_odds: float = 1.0  # per ln(load s / 2.5) on the planted routes
    route_share: float = 0.5
    segment_log_odds: float = 1.0


@dataclass(frozen=True)
class Plan:
    planted: PlantedSelection
    routes: frozenset[str]
    country: str

    def shift(self) -> Callable[[PageView, Visitor], float]:
        def answer_shift(pv: PageView, v: Visitor) -> float:
            load = (self.planted.load_log_odds * math.log(pv.load_ms / 1000.0 / GOOD_S)
                    if pv.route in self.routes else 0.0)
            return load + (self.planted.segment_log_odds if v.country == self.country else 0.0)
        return answer_shift


def plan(seed: int, spec: WorldSpec, planted: PlantedSelection) -> Plan:
    rng = random.Random(f"selection:{seed}")
    routes = sorted(spec.routes)
    k = max(1, round(planted.route_share * len(routes)))
    weight: dict[str, float] = {}
    for p in spec.places:
        weight[p.country] = weight.get(p.country, 0.0) + p.weight
    total = sum(weight.values())
    countries = sorted(c for c, w in weight.items() if w >= 0.1 * total)
    return Plan(planted, frozenset(rng.sample(routes, k)), rng.choice(countries))


def write_offers(path: Path, world: list[Session], responses: dict[str, Response],
                 share: float, spec: WorldSpec) -> list[tuple[Session, PageView, bool]]:
    """The GA4 rows of every offer; returns (session, offered page, answered) per offer."""
    out = []
    with open(path, "wb") as f:
        for s in world:
            pv = shown(s, share, spec)
            if pv is None:
                continue
            r = responses.get(s.visitor.session_id)
            at = r.shown_us if r is not None else pv.start_us + int(pv.load_ms * 1000) + int(
                random.Random(f"offer:{s.rng_state}").lognormvariate(math.log(6e6), 0.5))
            f.write(orjson.dumps(offer_row(s, spec, pv, at, "nps-in-page")) + b"\n")
            out.append((s, pv, r is not None))
    return out


def truth(p: Plan, offers: list[tuple[Session, PageView, bool]], spec: WorldSpec) -> dict:
    f = spec.feedback
    sums: dict[str, list[float]] = {}
    for _, pv, answered in offers:
        route = spec.routes[pv.route]
        load_s = pv.load_ms / 1000.0
        gap = (f["log_load_s"] * route.load_slope * (math.log(load_s) - math.log(min(load_s,
                                                                                    GOOD_S)))
               + f["error_seen"] * pv.error_seen + f["dependency_failure"] * pv.visible_failure)
        acc = sums.setdefault(pv.route, [0, 0.0, 0, 0.0])
        acc[0] += 1
        acc[1] += gap
        if answered:
            acc[2] += 1
            acc[3] += gap
    return {
        "load_log_odds": p.planted.load_log_odds, "segment_log_odds": p.planted.segment_log_odds,
        "routes": sorted(p.routes), "country": p.country, "offer_event": "survey_impression",
        "delivery_part": {r: {"offered": n, "answered": a,
                              "offered_mean": g / n if n else None,
                              "answered_mean": ga / a if a else None}
                          for r, (n, g, a, ga) in sorted(sums.items())},
    }
