"""The difference-in-differences engine behind ``design-check``: naive before/after, the DiD,
the DiD adjusted for delivery, a placebo change, and the smallest detectable effect.

Shared by the poor-feedback check (a response per row, ``design_check``) and the conversion
check (a session per row, ``design_conversion``). Rows carry a group label (``Frame.route``:
the changed route or a control), 0/1 ``treated`` and ``after``; delivery and numeric
covariates are passed as columns aligned with the rows (default: ``delivery_columns``).
When every row is treated (no unexposed rows to compare with) the "DiD" degenerates to a
before/after at equal controls and delivery: the effect is then the ``after`` coefficient and
the site-wide part of the naive change cannot be told apart from the effect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy import stats
from scipy.special import expit

from parallax.correlate.design import build_design, delivery_columns
from parallax.correlate.frame import Frame
from parallax.correlate.logit import Estimate, fit_logit
from parallax.correlate.settings import Settings

__all__ = ["Columns", "Effect", "detectable", "estimate", "placebo"]

Columns = dict[str, np.ndarray]
MIN_PLACEBO = 10  # rows per cell of the placebo split


@dataclass(frozen=True)
class Effect:
    """A change in log-odds of the outcome and in outcome-rate points (changed route, after)."""

    log_odds: Estimate
    points: tuple[float, float, float]  # estimate, ci_low, ci_high: share of units
    parts: dict | None = None  # adjusted model: site_wide, delivery, remaining (log-odds)

    def to_json(self) -> dict:
        e = self.log_odds
        return {"odds_ratio": span((e.estimate, e.ci_low, e.ci_high), math.exp),
                "log_odds": rnd(e.estimate), "p_value": rnd(e.p_value),
                "points": span(self.points)}


def estimate(f: Frame, treated: np.ndarray, after: np.ndarray, s: Settings,
             rng: np.random.Generator | None = None, *, delivery: Columns | None = None,
             covariates: Columns | None = None) -> tuple[Effect, Effect | None, Effect]:
    """Naive before/after on the treated rows, the DiD (None without untreated rows), and the
    DiD adjusted for ``delivery`` (default: ``delivery_columns(f)``). ``covariates`` are
    numeric controls in both DiD models."""
    rng = rng or np.random.default_rng(s.seed)
    deliv = delivery_columns(f) if delivery is None else delivery
    cov = covariates or {}
    naive = _naive(f, treated == 1, after, rng, s)  # this order: the draws stay reproducible
    did = _did(f, treated, after, None, cov, rng, s) if (treated == 0).any() else None
    return naive, did, _did(f, treated, after, deliv, cov, rng, s)


def placebo(f: Frame, times: np.ndarray, treated: np.ndarray, after: np.ndarray,
            since: datetime, changed_at: datetime, s: Settings, rng: np.random.Generator, *,
            delivery: Columns | None = None, covariates: Columns | None = None,
            ) -> Effect | None:
    """The adjusted model on the before period with a fake change halfway through it."""
    before = after == 0
    if not before.any():
        return None
    first = min(t for t in times[before])
    mid = max(first, since) + (changed_at - max(first, since)) / 2
    fake = np.array([t >= mid for t in times[before]], dtype=float)
    sub, t = f.take(before), treated[before]
    groups = (0, 1) if (t == 0).any() else (1,)
    sides = [((t == a) & (fake == b)).sum() for a in groups for b in (0, 1)]
    if min(sides) < MIN_PLACEBO or sub.y.min() == sub.y.max():
        return None
    deliv = delivery_columns(sub) if delivery is None else {
        k: v[before] for k, v in delivery.items()}
    cov = {k: v[before] for k, v in (covariates or {}).items()}
    try:
        return _did(sub, t, fake, deliv, cov, rng, s)
    except ValueError:
        return None


def detectable(se: float, base: float, s: Settings, sign: float = 1.0) -> dict:
    """The smallest effect (odds ratio, rate points from ``base``) found with ``s.power``."""
    mde = sign * (stats.norm.ppf(1 - s.alpha / 2) + stats.norm.ppf(s.power)) * se
    p0 = min(max(base, 1e-6), 1 - 1e-6)
    return {"odds_ratio": rnd(math.exp(mde)),
            "points": rnd(float(expit(math.log(p0 / (1 - p0)) + mde)) - p0),
            "power": s.power, "alpha": s.alpha}


def trends_text(p: Effect | None, units: str) -> str:
    if p is None:
        return f"not tested (too few {units} before the change)"
    if p.log_odds.ci_low > 0 or p.log_odds.ci_high < 0:
        return "doubtful: a placebo change halfway through the before period shows an effect"
    return "plausible: no placebo effect halfway through the before period"


def _estimate_points(fit, X: np.ndarray, col: int, rows: np.ndarray, rng, s: Settings,
                     ) -> tuple[float, float, float]:
    """Mean change in P(outcome) over ``rows`` from the effect column (0 for 'without')."""
    without = X.copy()
    without[:, col] = 0.0
    draws = np.vstack([fit.params, fit.draws(s.draws, rng)])
    diff = (fit.predict_draws(X[rows], draws) - fit.predict_draws(without[rows], draws))
    per = diff.mean(axis=1)
    return float(per[0]), float(np.percentile(per[1:], 2.5)), float(np.percentile(per[1:], 97.5))


def _naive(f: Frame, mine: np.ndarray, after: np.ndarray, rng, s: Settings) -> Effect:
    X = np.column_stack([np.ones(int(mine.sum())), after[mine]])
    fit = fit_logit(f.y[mine], X, ("const", "after"), f.cluster[mine])
    rows = after[mine] == 1
    return Effect(fit.contrast({"after": 1.0}), _estimate_points(fit, X, 1, rows, rng, s))


def _did(f: Frame, treated, after, delivery: Columns | None, covariates: Columns, rng,
         s: Settings) -> Effect:
    both = (treated == 0).any()  # without untreated rows `after` is the effect itself
    name = "changed:after" if both else "after"
    extra = {"after": after, **({"changed:after": treated * after} if both else {}),
             **covariates, **(delivery or {})}
    d = build_design("route", f.route, f.controls, delivery=extra, min_level=s.min_level)
    fit = fit_logit(f.y, d.X, d.names, f.cluster)
    rows = (treated * after) == 1
    effect = fit.contrast({name: 1.0})
    parts = None
    if delivery is not None:  # the naive change, split: site-wide, delivery, what remains
        beta = {n: fit.params[i] for i, n in enumerate(fit.names)}
        cols = [c for c in delivery if c in beta]
        term = (d.X[:, [d.column(c) for c in cols]] @ np.array([beta[c] for c in cols])
                if cols else np.zeros(f.n))
        mine = treated == 1
        parts = {"site_wide": float(beta.get("after", 0.0)) if both else None,
                 "delivery": float(term[mine & (after == 1)].mean()
                                   - term[mine & (after == 0)].mean()),
                 "remaining": effect.estimate}
    return Effect(effect, _estimate_points(fit, d.X, d.column(name), rows, rng, s), parts)


def span(t, fn=lambda x: x) -> dict:
    return {"estimate": rnd(fn(t[0])), "ci_low": rnd(fn(t[1])), "ci_high": rnd(fn(t[2]))}


def rnd(x):
    return None if x is None or not math.isfinite(x) else round(float(x), 6)
