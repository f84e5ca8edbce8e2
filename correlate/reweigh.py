"""The route and dependency models re-estimated with the propensity weights, beside the same
models unweighted — so the two estimates differ only by the weights.

Model: poor ~ route + controls + log_load + error + fail:<dependency> (model B with the
common load slope; the per-route slope deviations need the penalised fit, which takes no
weights), a statsmodels binomial GLM. The weights enter as ``var_weights``: each response's
contribution to the score is scaled by its weight, which is what inverse-probability
weighting is; ``freq_weights`` would read a weight of 3 as three independent customers and
shrink the standard errors as if the sample were larger. Standard errors are the
cluster-robust sandwich by user (as every model here): the model-based ones assume the
weighted likelihood is a likelihood, which it is not; the sandwich, ignoring that the
weights were estimated, is the usual conservative choice for IPW.

A served failure that always came with a poor answer separates the data (the estimate runs
off to infinity); the main model then uses Firth's penalty, which takes no weights, so here
that dependency's column is left out of both fits and it gets no weighted estimate.

Per route: the delivery part — the mean (weighted: over the answers as weighted) of the
log-odds above good delivery on the route's responses — with a 95 % interval from parameter
draws. Per dependency: the log-odds ratio of a served failure.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from parallax.correlate.design import Design, build_design, delivery_columns, good_delivery
from parallax.correlate.frame import Frame
from parallax.correlate.logit import _independent, normal_draws
from parallax.correlate.settings import TAILS, Settings

__all__ = ["Reweighed", "reweigh"]

_RUNAWAY = 10.0  # a failure coefficient this large (odds x 22,000) is separation, not data


@dataclass(frozen=True)
class Reweighed:
    # (kind, subject) → {"unweighted": {estimate, ci_low, ci_high}, "weighted": {...}}
    estimates: dict[tuple[str, str], dict[str, dict[str, float]]]
    load_slope: dict[str, dict[str, float]]  # the common ln-load slope, both ways
    n: int
    effective_n: float  # of the modelled responses under their weights


def reweigh(fm: Frame, weights: np.ndarray, settings: Settings) -> Reweighed | None:
    """None when either fit fails (separation, too little data): then no weighted estimate."""
    delivery = delivery_columns(fm)
    fits: dict[str, tuple[tuple[np.ndarray, np.ndarray], np.ndarray]] = {}
    for _ in range(3):  # a failure that always came with a poor answer (separation) is left
        design = build_design("route", fm.route, fm.controls, delivery=delivery,  # out
                              min_level=settings.min_level)
        keep, _ = _independent(design.X, design.names)  # as the main fit: the GLM would
        design = replace(design, X=design.X[:, keep],  # not be identified with them
                         names=tuple(design.names[j] for j in keep))
        if not design.has("log_load"):
            return None
        fits = {}
        for label, w in (("unweighted", np.ones(fm.n)), ("weighted", weights)):
            fit = _fit(fm, design, w)
            if fit is None:
                return None
            fits[label] = (fit, w)
        runaway = {n for label in fits for n, b in zip(design.names, fits[label][0][0],
                                                        strict=True)
                   if n.startswith("fail:") and abs(b) > _RUNAWAY}
        if not runaway:
            break
        delivery = {k: v for k, v in delivery.items() if k not in runaway}
    else:
        return None
    out: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
    rng = np.random.default_rng(settings.seed)
    for label, ((params, cov), w) in fits.items():
        draws = normal_draws(params, cov, settings.draws, rng)
        for level in design.levels:
            rows = design.subject == level
            good = good_delivery(design, fm, settings, rows)
            gap = (design.X[rows] - good[rows]) @ np.vstack([params, draws]).T
            avg = np.average(gap, axis=0, weights=w[rows])
            out.setdefault(("route", level), {})[label] = _span(avg)
        for i, name in enumerate(design.names):
            if name.startswith("fail:"):
                out.setdefault(("dependency", name.removeprefix("fail:")), {})[label] = (
                    _span(np.concatenate([[params[i]], draws[:, i]])))
    slope = {label: _span(np.concatenate([[p[design.column("log_load")]],
                                          rng.normal(p[design.column("log_load")],
                                                     np.sqrt(c[design.column("log_load"),
                                                               design.column("log_load")]),
                                                     settings.draws)]))
             for label, ((p, c), _) in fits.items()}
    return Reweighed(out, slope, fm.n, float(weights.sum() ** 2 / (weights ** 2).sum()))


def _fit(fm: Frame, design: Design, w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    # Imported here: only a database with survey offers gets this far, and statsmodels (with
    # pandas) costs correlate about a second of CPU to import. The model's own modules:
    # statsmodels.api would also import its formula, time-series and plotting stacks.
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    groups = np.unique(fm.cluster, return_inverse=True)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = GLM(fm.y, design.X, family=families.Binomial(), var_weights=w).fit(
                cov_type="cluster", cov_kwds={"groups": groups})
        except (ValueError, np.linalg.LinAlgError):
            return None
    params, cov = np.asarray(res.params), np.asarray(res.cov_params())
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(cov))):
        return None
    return params, cov


def _span(values: np.ndarray) -> dict[str, float]:
    lo, hi = np.quantile(values[1:], TAILS)
    return {"estimate": float(values[0]), "ci_low": float(lo), "ci_high": float(hi)}
