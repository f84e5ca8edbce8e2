"""Per dependency: what its failures and slowness cost in poor feedback, across every route
that calls it.

The effect runs through the delivered experience (dependency → page → customer), so it is read
off the delivery model B: each response whose page called the dependency gets a counterfactual
where the dependency was healthy — its failures gone (and the error page they caused), each
call no slower than its budget (``dependency_good_ms``, or its own median if lower) — and the
difference in predicted poor responses is summed. Call time is assumed to be on the page's
critical path (calls made in sequence); parallel calls make the saving an upper bound. Odds
ratios of a failure, raw and adjusted for route and controls, are reported beside it where it
failed on a directly linked page (a route-and-time failure rate is no 0/1 failure).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from parallax.correlate.attribution import Models
from parallax.correlate.design import build_design
from parallax.correlate.frame import Delivery
from parallax.correlate.logit import Estimate, fit_logit
from parallax.correlate.settings import TAILS, Settings
from parallax.numbers import Interval

__all__ = ["DependencyEffect", "dependency_effects", "healthy_dependency"]


@dataclass(frozen=True)
class DependencyEffect:
    subject: str
    n: int  # responses whose page called it
    n_poor: int
    poor_rate: float
    healthy_poor_rate: float  # predicted, had it been healthy
    extra_poor: Interval
    p_value: float
    raw: Estimate | None  # log odds of poor when it failed vs not, among its callers
    adjusted: Estimate | None  # the same, adjusted for route and controls
    routes: tuple[str, ...]


def healthy_dependency(m: Models, peer: str, budget_ms: float) -> np.ndarray:
    """Design B with ``peer`` healthy on every row."""
    f, b = m.frame, m.design_b
    called = f.dep_called.get(peer, np.zeros(f.n))
    failed = f.dep_failed.get(peer, np.zeros(f.n))
    served = f.dep_failed_served.get(peer, np.zeros(f.n))
    ms = f.dep_ms.get(peer, np.zeros(f.n))  # per calling page, all its calls together
    calls = f.dep_calls.get(peer, np.zeros(f.n))
    saved = called * np.maximum(0.0, ms - np.maximum(calls, 1.0) * budget_ms)
    load_ms = np.exp(f.log_load) * 1000.0
    repl = {
        "log_load": np.log(np.maximum(load_ms - saved, 1.0) / 1000.0),
        "error": np.maximum(0.0, f.error - (failed - served)),  # error pages it caused
        f"fail:{peer}": np.zeros(f.n),
    }
    return b.replace(repl)


def dependency_effects(m: Models, delivery: dict[tuple[str, str], Delivery],
                       controls: dict[str, np.ndarray], settings: Settings,
                       ) -> list[DependencyEffect]:
    f = m.frame
    out = []
    for peer in sorted(f.dep_called):
        rows = f.dep_called[peer] > 0
        if not rows.any():
            continue
        info = delivery.get(("dependency", peer))
        own = info.ok_median_ms if info and info.ok_median_ms is not None else np.inf
        cf = healthy_dependency(m, peer, min(settings.dependency_good_ms, own))
        healthy = m.b.predict(cf[rows])
        diff = m.p[rows] - healthy
        sims = m.excess_draws(cf, rows)
        point, sd = float(diff.sum()), float(sims.std())
        p = float(2 * special.ndtr(-(abs(point) / sd))) if sd > 0 else (  # norm.sf
            0.0 if point > 0 else 1.0)
        lo, hi = np.quantile(sims, TAILS)
        raw, adjusted = _failure_odds(m, peer, rows, controls, settings)
        n = int(rows.sum())
        out.append(DependencyEffect(
            peer, n, int(f.y[rows].sum()), float(f.y[rows].mean()),
            float(healthy.mean()), Interval(point, float(lo), float(hi)), p,
            raw, adjusted, tuple(sorted(set(f.route[rows].tolist())))))
    return out


def _failure_odds(m: Models, peer: str, rows: np.ndarray, controls: dict[str, np.ndarray],
                  settings: Settings) -> tuple[Estimate | None, Estimate | None]:
    f = m.frame
    # Directly linked responses only: a route-and-time failure rate of 0.3 % says nothing about
    # the odds when the page's own call failed, and extrapolating it to 1 is wild.
    rows = rows & np.isin(f.link, ("session", "user"))
    failed = f.dep_failed[peer][rows]
    y, cluster = f.y[rows], f.cluster[rows]
    if not failed.any() or failed.min() == failed.max() or y.min() == y.max():
        return None, None
    ones = np.ones((len(y), 1))
    try:
        raw = fit_logit(y, np.column_stack([ones, failed]), ["const", "failed"], cluster)
        d = build_design("route", f.route[rows], {k: v[rows] for k, v in controls.items()},
                         delivery={"failed": failed}, min_level=settings.min_level)
        adj = fit_logit(y, d.X, d.names, cluster)
    except ValueError:
        return None, None
    return raw.contrast({"failed": 1.0}), adj.contrast({"failed": 1.0})
