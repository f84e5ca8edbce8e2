"""The incident counterfactual: a structural time series of a rate per unit of exposure fitted
on the pre-period, and an interval for observed − expected that covers the incident's effect.

The estimand is the incident's *expected* effect on the window's own page loads (or sessions):
the count expected with the incident minus the count expected without it. The estimate is the
observed count minus the counterfactual's expected count; it errs in two independent ways, and
the interval carries both (docs/method.md §8):

- the counterfactual's: where the level would have been (the smoothed level's variance, bins
  taken as fully correlated) and which units came in the window — the model's measurement
  variance of the window's count, i.e. its predictive variance, an upper bound for the spread
  of the expected count over the window's mix of units;
- the observed count's: a binomial draw given the window's exposure. Its mean μ₁ gets the
  Jeffreys posterior, μ₁ = n · Beta(y + ½, n − y + ½), which stays honest at a handful of
  counts where a normal approximation would not.

The interval is the 2.5 and 97.5 % points of μ₁ − E₀ with E₀ ~ Normal(expected, sd²), computed
by numerical convolution (deterministic: no random draws).

Which pre-period bins the model may learn from (``left_out``): those that ran under the same
other incidents as the window — see the function.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy import special
from scipy.optimize import brentq
from statsmodels.tsa.statespace.structural import UnobservedComponents

from parallax.records.annotations import Annotation

__all__ = ["Counterfactual", "Scope", "counterfactual", "extra_interval", "left_out", "rate"]

LEVELS = {"dconstant": "constant level", "llevel": "local level"}
_GRID = 1000  # quantile points of the observed count's posterior in the convolution


@dataclass(frozen=True)
class Counterfactual:
    """Observed vs expected count in the window; ``extra`` = observed − expected."""

    observed: float
    expected: float
    expected_sd: float  # the counterfactual count's standard deviation (level and mix)
    exposure: float  # page loads (or sessions) in the window: the observed count's trials
    extra: tuple[float, float, float]  # estimate, ci_low, ci_high (95 %)
    model: str  # "constant level", "local level", "… + other routes"

    def to_json(self) -> dict:
        e, lo, hi = self.extra
        return {"observed": self.observed, "exposure": self.exposure,
                "expected": _r(self.expected), "expected_sd": _r(self.expected_sd),
                "extra": {"estimate": _r(e), "ci_low": _r(lo), "ci_high": _r(hi)},
                "model": self.model}


@dataclass(frozen=True)
class Scope:
    """What an annotated incident must touch to matter for a series."""

    routes: frozenset[str]
    dependencies: frozenset[str]
    service: str | None  # an annotation naming only this service touches it too

    def touched_by(self, a: Annotation) -> bool:
        return bool(a.route in self.routes or a.dependency in self.dependencies
                    or (a.service and a.service == self.service and not a.dependency
                        and not a.route))


def left_out(k: np.ndarray, origin: datetime, bin_minutes: int, ends: datetime,
             notes: list[Annotation], own: str | None,
             scope: Scope) -> tuple[np.ndarray, tuple[str, ...]]:
    """Bins (``k``, bin 0 at ``origin``) a counterfactual must not learn from, and the other
    incidents ongoing through the whole window.

    Without this incident the window would still have run under those others (a payment
    outage that started the day before is part of the window's world), so only bins wholly
    inside each of them describe it; a bin touching any other incident in ``scope`` does not
    — one outage must not become the baseline of the next."""
    width = bin_minutes * 60
    out = np.zeros(len(k), dtype=bool)
    ongoing = []
    for a in notes:
        if a.kind != "incident" or a.id == own or a.ends_at is None or not scope.touched_by(a):
            continue
        start = (a.starts_at - origin).total_seconds() / width
        end = (a.ends_at - origin).total_seconds() / width
        if a.starts_at <= origin and a.ends_at >= ends:
            ongoing.append(a.id)
            out |= ~((k >= start) & (k + 1 <= end))
        else:
            out |= (k + 1 > start) & (k < end)
    return out, tuple(ongoing)


def extra_interval(observed: float, exposure: float, expected: float, sd: float,
                   level: float = 0.95) -> tuple[float, float]:
    """Interval for μ₁ − E₀: μ₁ the observed count's mean (Jeffreys, binomial in ``exposure``
    trials), E₀ ~ Normal(``expected``, ``sd``²) the counterfactual count."""
    y = float(observed)
    n = max(float(exposure), y)  # answers binned by submission may outnumber the bin's loads
    mu = n * special.betaincinv(y + 0.5, n - y + 0.5, (np.arange(_GRID) + 0.5) / _GRID)
    s = max(sd, 1e-9 * max(1.0, expected))

    def cdf(t: float) -> float:  # P(μ₁ − E₀ ≤ t) = P(E₀ ≥ μ₁ − t)
        return float(special.ndtr((expected - mu + t) / s).mean())

    a, b = mu.min() - expected - 10 * s, mu.max() - expected + 10 * s
    tail = (1.0 - level) / 2
    return (brentq(lambda t: cdf(t) - tail, a, b, xtol=1e-6),
            brentq(lambda t: cdf(t) - 1.0 + tail, a, b, xtol=1e-6))


class _Weighted(UnobservedComponents):
    """Local level whose measurement variance is σ² / weight per bin (a rate's noise)."""

    def __init__(self, endog, weights, **kwargs) -> None:
        super().__init__(endog, **kwargs)
        self._weights = np.asarray(weights, dtype=float)

    def update(self, params, **kwargs):
        params = super().update(params, **kwargs)
        s2 = float(np.ravel(self.ssm["obs_cov"])[0])
        self.ssm["obs_cov"] = (s2 / self._weights)[None, None, :]
        return params


def _fit(y, weights, exog, level: str):
    model = _Weighted(y, weights, level=level, exog=exog, mle_regression=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(disp=0, maxiter=200)


def counterfactual(counts: np.ndarray, exposure: np.ndarray, pre: np.ndarray,
                   window: np.ndarray, covariate: np.ndarray | None) -> Counterfactual:
    """Observed vs expected ``counts`` over the ``window`` bins, the rate per unit of
    ``exposure`` modelled on the ``pre`` bins (the rest are left out as missing)."""
    y = np.where(pre, rate(counts, exposure), np.nan)
    weights = np.where(exposure > 0, exposure / max(exposure[pre].mean(), 1e-9), 1.0)
    # A random-walk level must clearly earn its extra parameter (AIC lower by 4): without a
    # real drift it chases the last hours' noise, where a constant level uses the whole
    # pre-period. Measured on demo worlds, a margin of 2 let one chance-high day set the level.
    fits = {lv: _fit(y, weights, None, lv) for lv in LEVELS}
    level = "llevel" if fits["llevel"].aic < fits["dconstant"].aic - 4.0 else "dconstant"
    best, label = fits[level], LEVELS[level]
    if covariate is not None and np.isfinite(covariate[window]).all():
        x = np.where(np.isfinite(covariate), covariate, np.nanmean(covariate))
        if np.nanstd(x[pre]) > 0:
            with_x = _fit(y, weights, x[:, None], level)
            if with_x.aic < best.aic - 2.0:  # the other routes must earn their place
                best, label = with_x, f"{LEVELS[level]} + other routes"
    idx = np.flatnonzero(window)
    mean, sd = _level(best, idx)
    e = exposure[idx]
    expected = float((e * mean).sum())
    # The level's uncertainty, bins fully correlated (exact for a constant level, an upper
    # bound for a random walk), plus the measurement variance of the window's count: which
    # units came (and how they would have fared by chance) — σ² / weight per bin, as a count.
    s2 = float(best.params[list(best.model.param_names).index("sigma2.irregular")])
    measurement = float((e ** 2 * s2 / weights[idx]).sum())
    expected_sd = math.sqrt(float((e * sd).sum()) ** 2 + measurement)
    observed = float(counts[idx].sum())
    lo, hi = extra_interval(observed, float(e.sum()), expected, expected_sd)
    return Counterfactual(observed, expected, expected_sd, float(e.sum()),
                          (observed - expected, lo, hi), label)


def _level(fit, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The smoothed signal (level, plus the regression when there is one) and its sd."""
    zt = fit.model.ssm["design"]
    state, cov = fit.smoothed_state, fit.smoothed_state_cov
    mean, sd = np.zeros(len(idx)), np.zeros(len(idx))
    for j, t in enumerate(idx):
        z = zt[0, :, t] if zt.ndim == 3 else zt[0]
        mean[j] = z @ state[:, t]
        sd[j] = math.sqrt(max(z @ cov[:, :, t] @ z, 0.0))
    return mean, sd


def rate(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _r(x):
    return None if x is None or not math.isfinite(x) else round(float(x), 6)
