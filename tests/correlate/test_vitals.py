"""Core Web Vitals as delivery (issue 22): a route whose complaints follow its layout shifts
is explained by delivery, through CLS; a route with slow input nobody minds has no delivery
part; a vital above its "good" threshold at p75 is a breach, worded as Google writes it."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
from scipy.special import expit

from parallax.correlate.attribution import fit_models, subject_effects
from parallax.correlate.findings import evidence
from parallax.correlate.frame import Delivery, Frame
from parallax.correlate.settings import Settings
from parallax.correlate.verdicts import degraded

S = Settings()
ROUTES = ("/", "/search", "/product", "/shift", "/slowtap")
NOT_GOOD = {"CLS": {"/shift": 0.6}, "INP": {"/slowtap": 0.7}}  # elsewhere 2 %
BETA_CLS = 1.5  # poor feedback on a page whose layout shifted; INP planted with no effect


def _frame(seed: int, n_per_route: int = 500) -> Frame:
    rng = np.random.default_rng(seed)
    route = np.repeat(np.array(ROUTES, dtype=object), n_per_route)
    n = len(route)
    mobile = rng.random(n) < 0.5
    log_load = rng.normal(np.log(1.4), 0.3, n) + 0.2 * mobile
    vitals = {m: (rng.random(n) < np.array([share.get(r, 0.02) for r in route])).astype(float)
              for m, share in NOT_GOOD.items()}
    eta = -1.5 + 0.8 * log_load + 0.3 * mobile + BETA_CLS * vitals["CLS"]
    y = (rng.random(n) < expit(eta)).astype(float)
    empty = {f.name: {} for f in fields(Frame)
             if f.name in ("dep_called", "dep_failed", "dep_failed_served", "dep_ms",
                           "dep_calls", "extra")}
    return Frame(y=y, cluster=np.array([f"u{i}" for i in range(n)], dtype=object), route=route,
                 controls={"device": np.where(mobile, "mobile", "desktop").astype(object)},
                 log_load=log_load, error=np.zeros(n), link=np.full(n, "session", dtype=object),
                 vitals=vitals, **empty)


@pytest.fixture(scope="module")
def effects():
    frame = _frame(3)
    models = fit_models(frame, "route", frame.route, frame.controls, S, slopes=True)
    assert {"vital:CLS", "vital:INP"} <= set(models.design_b.names)
    return {e.subject: e for e in subject_effects(models, S)}


def test_layout_shifts_explain_the_routes_complaints(effects):
    e = effects["/shift"]
    assert e.drivers[0][0] == "vital:CLS"
    assert e.delivery_part.low > 0  # delivery harms, through its layout shifts
    assert e.adjusted.ci_low < 0 < e.adjusted.ci_high  # no design part left
    assert sum(v for _, v in e.drivers) == pytest.approx(e.delivery_part.estimate, abs=1e-9)
    planted = BETA_CLS * (NOT_GOOD["CLS"]["/shift"] - 0.0)
    assert e.delivery_part.low < planted < e.delivery_part.high + 0.3


def test_slow_input_nobody_minds_adds_nothing(effects):
    e = effects["/slowtap"]
    inp = dict(e.drivers)["vital:INP"]
    assert abs(inp) < 0.3 and e.delivery_part.low < 0.1
    assert e.raw.ci_low < 0 < e.raw.ci_high or e.raw.estimate < 0.3


def _route(**kw) -> Delivery:
    base = dict(kind="route", subject="/shift", pages=100, sessions=50, calls=None,
                p50_ms=900.0, p75_ms=1200.0, p95_ms=2000.0, error_rate=0.0,
                dependency_failure_rate=0.0, ok_median_ms=None, related=(), service="shop")
    return Delivery(**{**base, **kw})


def test_vitals_above_good_at_p75_are_breaches():
    vitals = (("CLS", 0.24, 0.1, "score"), ("INP", 200.0, 200.0, "ms"),
              ("LCP", 3120.0, 2500.0, "ms"))
    assert degraded(_route(vitals=vitals), S) == ["CLS p75 0.24 > 0.1", "LCP p75 3.1 s > 2.5 s"]
    assert degraded(_route(vitals=(("INP", 530.0, 200.0, "ms"),)), S) == [
        "INP p75 530 ms > 200 ms"]
    assert degraded(_route(), S) == []


def test_a_delivery_verdict_names_the_vital_only_when_it_leads(effects):
    from parallax.correlate.findings import Finding, Impact
    from parallax.numbers import Interval

    def finding(drivers):
        return Finding(
            subject_kind="route", subject="/shift", verdict="delivery", n_responses=500,
            n_sessions=400, poor_rate=0.5, baseline_poor_rate=0.3,
            odds_ratio_raw=Interval(2.0, 1.5, 2.6), odds_ratio_adjusted=Interval(1.0, 0.7, 1.4),
            explained_share=0.9, p_value=0.001, q_value=0.002,
            delivered={"breaches": ["CLS p75 0.24 > 0.1"]},
            impact=Impact(extra_poor_responses=Interval(40, 30, 50)),
            details={"delivery_part_log_odds": Interval(0.8, 0.5, 1.1),
                     "q_value_delivery": 0.001, "q_value_adjusted": 0.5, "alpha": 0.05,
                     "delivery_drivers": drivers})

    led = evidence(finding([{"driver": "vital:CLS", "log_odds": 0.7},
                            {"driver": "load", "log_odds": 0.1}]))
    assert "mainly layout shifts (CLS); CLS p75 0.24 > 0.1" in led
    shared = evidence(finding([{"driver": "vital:CLS", "log_odds": 0.4},
                               {"driver": "load", "log_odds": 0.4}]))
    assert "mainly" not in shared and "CLS p75 0.24 > 0.1" in shared
