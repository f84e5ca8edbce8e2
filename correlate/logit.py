"""Logistic-regression core for attribution: the MLE (statsmodels' Newton fit, written out in
numpy: ``fitters.fit_mle``) with cluster-robust (CR1) standard errors, a linear-programming
separation check before fitting, and a Firth-penalised fallback (numpy, so no extra
dependency) when the MLE does not exist. ``ridge`` gives some columns a Gaussian prior
(partial pooling, e.g. per-route deviations from a common slope): a penalised Newton fit whose
covariance is at least the posterior's (X'WX + P)^-1 in every direction.

Columns that are all zero or in the span of earlier columns are dropped first; callers keep
passing matrices in their ORIGINAL layout to ``predict``/``predict_draws``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from parallax.correlate.fitters import (
    envelope,
    fit_firth,
    fit_mle,
    fit_ridge,
    not_separated,
    separated,
)
from parallax.correlate.settings import LEVEL, TAILS

__all__ = ["Estimate", "LogitFit", "fit_logit", "normal_draws"]

COLLINEAR_TOL = 1e-7  # |R_jj| of a unit-norm column below this: it lies in earlier columns' span


@dataclass(frozen=True)
class Estimate:
    """z-based two-sided estimate; a contrast of only dropped columns is 0 with se 0, p nan."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float

    @staticmethod
    def from_normal(estimate: float, se: float, level: float = LEVEL) -> Estimate:
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {level}")
        if not se > 0.0:
            return Estimate(estimate, 0.0, estimate, estimate, float("nan"))
        # scipy.stats.norm.ppf and .sf are these special functions (without importing
        # scipy.stats, a third of a second)
        half = float(special.ndtri(0.5 + level / 2.0)) * se
        p = float(2.0 * special.ndtr(-(abs(estimate) / se)))
        return Estimate(estimate, se, estimate - half, estimate + half, p)

    @staticmethod
    def from_draws(estimate: float, draws: np.ndarray) -> Estimate:
        """The draws' spread: a percentile interval and a normal-approximation p."""
        sd = float(np.std(draws))
        lo, hi = np.quantile(draws, TAILS)
        p = float(2 * special.ndtr(-(abs(estimate) / sd))) if sd > 0 else float("nan")
        return Estimate(estimate, sd, float(lo), float(hi), p)


@dataclass(frozen=True)
class LogitFit:
    names: tuple[str, ...]  # kept columns, in order
    params: np.ndarray  # log-odds coefficients for `names`
    cov: np.ndarray  # cluster-robust CR1 covariance
    method: str  # "mle" | "firth"
    separation: bool  # (quasi-)complete separation detected
    dropped: tuple[str, ...]  # all-zero or linearly dependent columns
    n: int
    n_clusters: int
    converged: bool
    columns: tuple[str, ...] = ()  # the original layout's names
    keep: tuple[int, ...] = ()  # original index of each kept column
    notes: tuple[str, ...] = ()  # why columns were dropped, why Firth was used

    def index(self, name: str) -> int | None:
        return self.names.index(name) if name in self.names else None

    def _kept(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.columns):
            raise ValueError(f"X must have {len(self.columns)} columns, got shape {X.shape}")
        return X[:, list(self.keep)]

    def predict(self, X: np.ndarray) -> np.ndarray:
        return special.expit(self._kept(X) @ self.params)

    def contrast(self, c: dict[str, float], level: float = LEVEL) -> Estimate:
        unknown = sorted(set(c) - set(self.columns))
        if unknown:
            raise KeyError(f"unknown column(s) in contrast: {', '.join(unknown)}")
        vec = np.zeros(len(self.names))
        for name, weight in c.items():
            i = self.index(name)
            if i is not None:  # dropped columns contribute 0
                vec[i] += weight
        var = float(vec @ self.cov @ vec)
        return Estimate.from_normal(float(vec @ self.params), float(np.sqrt(max(var, 0.0))), level)

    def draws(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return normal_draws(self.params, self.cov, k, rng)

    def summed_predict_draws(self, X: np.ndarray, draws: np.ndarray,
                             weights: np.ndarray | None = None) -> np.ndarray:
        """Per draw, the predictions over the rows of ``X`` summed (weighted by ``weights``):
        ``predict_draws(X, draws).sum(axis=1)`` (or ``@ weights``) a block of rows at a time, so
        the (draws x rows) array is never made whole. At 100 k sessions it took hundreds of MB
        a call, and faulting that memory in cost more system time than the products took. The
        sums add the blocks one after the other: equal to the whole row's sum to rounding."""
        neg = -np.asarray(draws, dtype=float)
        Xk = self._kept(X)
        w = None if weights is None else np.asarray(weights, dtype=float)
        out = np.zeros(len(neg))
        step = max(1, _BLOCK // max(len(neg), 1))
        for start in range(0, len(Xk), step):
            block = _expit_of_negated(neg @ Xk[start:start + step].T)
            out += block.sum(axis=1) if w is None else block @ w[start:start + step]
        return out

    def predict_draws(self, X: np.ndarray, draws: np.ndarray) -> np.ndarray:
        # the product of the negated draws is the negated product to the bit (IEEE rounding is
        # symmetric in sign): negating the (draws x columns) matrix spares a pass over the
        # (draws x rows) one
        return _expit_of_negated(-np.asarray(draws, dtype=float) @ self._kept(X).T)


# values in one block of summed_predict_draws: 2 MiB, within a core's share of the caches
_BLOCK = 1 << 18


def normal_draws(mean: np.ndarray, cov: np.ndarray, k: int,
                 rng: np.random.Generator) -> np.ndarray:
    """``k`` draws of N(mean, cov): standard normals times the covariance's symmetric square
    root. That root is one matrix whatever basis ``eigh`` picks for equal eigenvalues and
    whatever sign it gives each eigenvector, so covariances equal to the last bits give draws
    equal to the last bits. numpy's own ``multivariate_normal(method="eigh")`` multiplies by
    the eigenvectors themselves: a sign flip from rounding noise (DuckDB's parallel sums
    differ run to run in the last bit) gave another sample, and intervals moved by their
    Monte Carlo noise from one run to the next. ``eigh`` copes with the rank-deficient
    covariance a few clusters give (negative rounding eigenvalues count as 0)."""
    values, vectors = np.linalg.eigh((cov + cov.T) / 2)
    root = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    return mean + rng.standard_normal((k, len(mean))) @ root


def _expit_of_negated(neg_eta: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-eta)) from ``-eta``, overwriting it: the (draws x rows) arrays of the impact
    intervals are the biggest in correlate, and numpy's vectorised exp is about twice as fast as
    scipy's expit over them (the two agree to 1e-15; a log-odds below -709 gives 0, not a
    subnormal)."""
    with np.errstate(over="ignore"):
        np.exp(neg_eta, out=neg_eta)
    neg_eta += 1.0
    return np.reciprocal(neg_eta, out=neg_eta)


def _independent(X: np.ndarray, names: Sequence[str]) -> tuple[list[int], list[str]]:
    """Indices of columns to keep; unpivoted QR so a column is judged against earlier ones."""
    norms = np.sqrt(np.einsum("ij,ij->j", X, X))
    nonzero = np.flatnonzero(norms > 0)
    notes = [f"dropped {names[int(j)]}: all zero" for j in np.flatnonzero(norms == 0)]
    keep: list[int] = []
    if nonzero.size:
        r = np.abs(np.diag(np.linalg.qr(X[:, nonzero] / norms[nonzero], mode="r")))
        for j, rjj in zip(nonzero, r, strict=True):
            if rjj > COLLINEAR_TOL:
                keep.append(int(j))
            else:
                notes.append(f"dropped {names[int(j)]}: linearly dependent on earlier columns")
    return keep, notes


def _cluster_codes(groups: np.ndarray | None, n: int) -> tuple[np.ndarray, int]:
    if groups is None:
        return np.arange(n), n
    g = np.asarray(groups)
    if g.shape != (n,):
        raise ValueError(f"groups must have one label per row ({n}), got shape {g.shape}")
    # Codes in order of first appearance, as pandas.factorize gives them (the order the
    # clusters' scores are summed in), without importing pandas.
    index: dict = {}
    labels = g.tolist()
    if any(v is None or v != v for v in labels):  # None, or NaN (not equal to itself)
        raise ValueError("groups contain missing labels")
    codes = np.fromiter((index.setdefault(v, len(index)) for v in labels), dtype=np.intp,
                        count=n)
    if len(index) < 2:
        raise ValueError("cluster-robust standard errors need at least 2 clusters")
    return codes, len(index)


def fit_logit(
    y: np.ndarray,
    X: np.ndarray,
    names: Sequence[str],
    groups: np.ndarray | None = None,
    *,
    firth: bool | None = None,
    maxiter: int = 100,
    ridge: np.ndarray | None = None,
) -> LogitFit:
    """Fit P(y=1) = expit(X beta). ``firth``: None picks Firth only under separation, True
    forces it, False forces the MLE. ``ridge``: per-column prior precision (0 = none); any
    positive entry fits the penalised model instead (method "ridge"). Raises ValueError when
    the data cannot support a fit."""
    y = np.asarray(y, dtype=float).ravel()
    X = np.asarray(X, dtype=float)
    names = tuple(str(s) for s in names)
    if X.ndim != 2 or X.shape[0] != y.size or X.shape[1] != len(names):
        raise ValueError(f"shape mismatch: y {y.shape}, X {X.shape}, {len(names)} names")
    if len(set(names)) != len(names):
        raise ValueError("column names must be unique")
    if not (np.all(np.isfinite(X)) and np.all((y == 0) | (y == 1))):
        raise ValueError("y must be 0/1 and X finite")
    if y.size == 0 or y.min() == y.max():
        raise ValueError("too little data: the outcome is constant (or there are no rows)")
    keep, notes = _independent(X, names)
    n, k = X.shape[0], len(keep)
    if k == 0 or n < k + 1:
        raise ValueError(f"too little data: {n} rows for {k} independent columns")
    codes, n_clusters = _cluster_codes(groups, n)
    Xk = X[:, keep]
    if ridge is not None and np.any(np.asarray(ridge)[keep] > 0):
        params, cov, converged = fit_ridge(y, Xk, codes, n_clusters,
                                            np.asarray(ridge, dtype=float)[keep], maxiter)
        params.setflags(write=False)
        cov.setflags(write=False)
        return LogitFit(names=tuple(names[j] for j in keep), params=params, cov=cov,
                        method="ridge", separation=False,
                        dropped=tuple(name for j, name in enumerate(names) if j not in keep),
                        n=n, n_clusters=n_clusters, converged=converged, columns=names,
                        keep=tuple(keep), notes=tuple(notes))

    # The MLE first, unless Firth is forced: when it is clean, its score proves there is no
    # separation (fitters.not_separated) and the LP is not solved; otherwise the LP decides,
    # as it always did. Either way the same fit follows the same verdict on separation.
    mle = fit_mle(y, Xk, codes, maxiter) if firth is not True else None
    proven = mle is not None and not mle[3] and not_separated(y, Xk, mle[0])
    separation = False if proven else separated(y, Xk)
    if separation:
        notes.append("separation: found by the linear-programming check")
    mle_used = firth is False or (firth is None and not separation)
    if mle_used and (mle is None or mle[3]):
        if not separation:
            notes.append("separation: the MLE failed, diverged or did not converge")
        separation = True
    if firth is False:
        if mle is None:
            raise ValueError("the maximum-likelihood fit failed (separation?); use firth=None")
        params, cov, converged, _ = mle
        method = "mle"
    elif firth or separation:
        params, cov, model_cov, converged = fit_firth(y, Xk, codes, n_clusters, maxiter)
        if separation:
            cov = envelope(cov, model_cov)
            notes.append("cov: at least the model-based (X'WX)^-1 in every direction")
        method = "firth"
    else:
        assert mle is not None  # a failed MLE means separation
        params, cov, converged, _ = mle
        method = "mle"
    params, cov = np.array(params, dtype=float), np.array(cov, dtype=float)
    params.setflags(write=False)
    cov.setflags(write=False)
    return LogitFit(
        names=tuple(names[j] for j in keep),
        params=params,
        cov=cov,
        method=method,
        separation=separation,
        dropped=tuple(name for j, name in enumerate(names) if j not in keep),
        n=n,
        n_clusters=n_clusters,
        converged=converged,
        columns=names,
        keep=tuple(keep),
        notes=tuple(notes),
    )
