"""Logistic-regression core for attribution: statsmodels MLE with cluster-robust (CR1) standard
errors, a linear-programming separation check before fitting, and a Firth-penalised fallback
(numpy, so no extra dependency) when the MLE does not exist. ``ridge`` gives some columns a
Gaussian prior (partial pooling, e.g. per-route deviations from a common slope): a penalised
Newton fit whose covariance is at least the posterior's (X'WX + P)^-1 in every direction.

Columns that are all zero or in the span of earlier columns are dropped first; callers keep
passing matrices in their ORIGINAL layout to ``predict``/``predict_draws``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, optimize, special, stats
from statsmodels.discrete.discrete_model import Logit
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

__all__ = ["Estimate", "LogitFit", "fit_logit"]

COLLINEAR_TOL = 1e-7  # |R_jj| of a unit-norm column below this: it lies in earlier columns' span
SEPARATION_TOL = 1e-6  # LP optimum (columns scaled to max |x| = 1) above this: separated
FEASIBILITY_TOL = 1e-7  # HiGHS' own primal feasibility tolerance
MAX_ETA = 15.0  # an MLE coefficient moving the linear predictor this far means separation
LP_ROWS = 2000  # initial constraint sample; violated rows are added in rounds (cutting planes)
_CHUNK = 1024  # rows per block in the hat diagonal (measured: larger blocks thrash threads)
_TROUBLE = (PerfectSeparationWarning, ConvergenceWarning, HessianInversionWarning)


@dataclass(frozen=True)
class Estimate:
    """z-based two-sided estimate; a contrast of only dropped columns is 0 with se 0, p nan."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float

    @staticmethod
    def from_normal(estimate: float, se: float, level: float = 0.95) -> Estimate:
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {level}")
        if not se > 0.0:
            return Estimate(estimate, 0.0, estimate, estimate, float("nan"))
        half = float(stats.norm.ppf(0.5 + level / 2.0)) * se
        p = float(2.0 * stats.norm.sf(abs(estimate) / se))
        return Estimate(estimate, se, estimate - half, estimate + half, p)


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

    def contrast(self, c: dict[str, float], level: float = 0.95) -> Estimate:
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
        # eigh copes with the rank-deficient covariance a few clusters give
        return rng.multivariate_normal(self.params, self.cov, size=k, method="eigh")

    def predict_draws(self, X: np.ndarray, draws: np.ndarray) -> np.ndarray:
        return special.expit(np.asarray(draws, dtype=float) @ self._kept(X).T)


def _independent(X: np.ndarray, names: Sequence[str]) -> tuple[list[int], list[str]]:
    """Indices of columns to keep; unpivoted QR so a column is judged against earlier ones."""
    norms = np.sqrt(np.einsum("ij,ij->j", X, X))
    nonzero = np.flatnonzero(norms > 0)
    notes = [f"dropped {names[j]}: all zero" for j in np.flatnonzero(norms == 0)]
    keep: list[int] = []
    if nonzero.size:
        r = np.abs(np.diag(np.linalg.qr(X[:, nonzero] / norms[nonzero], mode="r")))
        for j, rjj in zip(nonzero, r, strict=True):
            if rjj > COLLINEAR_TOL:
                keep.append(int(j))
            else:
                notes.append(f"dropped {names[j]}: linearly dependent on earlier columns")
    return keep, notes


def _separated(y: np.ndarray, X: np.ndarray) -> bool:
    """Is there beta != 0 with (2y_i - 1) x_i'beta >= 0 for all i (Konis 2007)? Maximise the sum
    of those terms in the box |beta| <= 1; constraints are added in rounds (cutting planes) so the
    LP stays small: a subset's optimum of 0 already proves there is no separation."""
    S = (2.0 * y - 1.0)[:, None] * (X / np.abs(X).max(axis=0))
    c, n = S.sum(axis=0), len(S)
    rows = np.random.default_rng(0).choice(n, min(n, LP_ROWS), replace=False)
    while True:
        res = optimize.linprog(
            -c, A_ub=-S[rows], b_ub=np.zeros(len(rows)), bounds=(-1, 1), method="highs-ds"
        )
        if res.status != 0 or -res.fun <= SEPARATION_TOL:
            return False  # an LP failure is no evidence; the MLE checks still apply
        margin = S @ res.x
        bad = np.setdiff1d(np.flatnonzero(margin < -FEASIBILITY_TOL), rows)
        if bad.size == 0:
            return True
        rows = np.union1d(rows, bad[np.argsort(margin[bad])[:LP_ROWS]])


def _cluster_cov(
    bread: np.ndarray, scores: np.ndarray, codes: np.ndarray, n_clusters: int
) -> np.ndarray:
    """CR1 sandwich, statsmodels' factor G/(G-1) * (n-1)/(n-k)."""
    n, k = scores.shape
    sums = np.column_stack(
        [np.bincount(codes, weights=scores[:, j], minlength=n_clusters) for j in range(k)]
    )
    cov = bread @ (sums.T @ sums) @ bread
    cov *= n_clusters / (n_clusters - 1.0) * (n - 1.0) / (n - k)
    return (cov + cov.T) / 2.0


def _fit_mle(
    y: np.ndarray, X: np.ndarray, codes: np.ndarray, maxiter: int
) -> tuple[np.ndarray, np.ndarray, bool, bool] | None:
    """(params, cov, converged, trouble); None when statsmodels cannot produce a fit."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = Logit(y, X, check_rank=False).fit(  # rank already checked by _independent
                method="newton",
                disp=0,
                maxiter=maxiter,
                cov_type="cluster",
                cov_kwds={"groups": codes},
            )
            params, cov = np.asarray(res.params), np.asarray(res.cov_params())
        except (PerfectSeparationError, np.linalg.LinAlgError, ValueError):
            return None
    converged = bool(res.mle_retvals.get("converged", False))
    trouble = (
        any(issubclass(w.category, _TROUBLE) for w in caught)
        or not converged
        or not (np.all(np.isfinite(params)) and np.all(np.isfinite(cov)))
        # on the linear-predictor scale, so fractional-rate columns are not penalised
        or bool(np.any(np.abs(params) * np.abs(X).max(axis=0) > MAX_ETA))
    )
    return params, cov, converged, trouble


def _firth_state(y: np.ndarray, X: np.ndarray, beta: np.ndarray):
    eta = X @ beta
    p = special.expit(eta)
    Xw = X * np.sqrt(p * (1.0 - p))[:, None]
    try:
        L = linalg.cholesky(Xw.T @ Xw, lower=True)
    except linalg.LinAlgError:
        return None
    pll = float(np.sum(y * eta - np.logaddexp(0.0, eta)) + np.log(np.diag(L)).sum())
    return p, Xw, L, pll


def _hat(Xw: np.ndarray, L: np.ndarray) -> np.ndarray:
    """diag(Xw (Xw'Xw)^-1 Xw') as row norms of Xw L^-T: one n x k product, no n x n matrix."""
    M = np.ascontiguousarray(linalg.solve_triangular(L, np.eye(L.shape[0]), lower=True).T)
    h = np.empty(len(Xw))
    for start in range(0, len(Xw), _CHUNK):  # small blocks: OpenBLAS is slow on tall products
        G = Xw[start : start + _CHUNK] @ M
        h[start : start + _CHUNK] = np.einsum("ij,ij->i", G, G)
    return h


def _fit_firth(
    y: np.ndarray, X: np.ndarray, codes: np.ndarray, n_clusters: int, maxiter: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Newton on the Firth score U* = X'(y - p + h(0.5 - p)) with step halving on the penalised
    log-likelihood l + 0.5 log|X'WX|; h is the hat diagonal, computed without an n x n matrix.
    Returns (params, cluster cov, model-based cov (X'WX)^-1, converged)."""
    k = X.shape[1]
    beta = np.zeros(k)
    state = _firth_state(y, X, beta)
    if state is None:
        raise ValueError("Firth fit failed: information matrix is singular at the start")
    converged = False
    for _ in range(maxiter):
        p, Xw, L, pll = state
        score = X.T @ (y - p + _hat(Xw, L) * (0.5 - p))
        step = linalg.cho_solve((L, True), score)
        scale = 1.0 + np.abs(beta).max()  # the score's rounding floor grows with |eta|
        if (big := np.abs(step).max()) < 1e-8 * scale:
            converged = True
            break
        if big > 5.0:  # as logistf: cap the step, halving does the rest
            step *= 5.0 / big
        # Armijo, not mere non-decrease: X'WX understates the penalised curvature in small
        # samples and plain steps can then oscillate around the optimum forever
        gain, noise = float(score @ step), 1e-13 * (1.0 + abs(pll))
        for _ in range(40):
            new = _firth_state(y, X, beta + step)
            if new is not None and new[3] >= pll + (1e-4 * gain if gain > noise else -noise):
                break
            step, gain = step / 2.0, gain / 2.0
        else:
            converged = big < 1e-6 * scale  # rounding noise, not a bad direction, stopped it
            break
        beta, state = beta + step, new
    p, Xw, L, _ = state
    scores = X * (y - p + _hat(Xw, L) * (0.5 - p))[:, None]
    bread = linalg.cho_solve((L, True), np.eye(k))
    return beta, _cluster_cov(bread, scores, codes, n_clusters), bread, converged


def _fit_ridge(y: np.ndarray, X: np.ndarray, codes: np.ndarray, n_clusters: int,
               penalty: np.ndarray, maxiter: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Newton with step halving on l(beta) - beta'P beta / 2, P = diag(penalty). The MLE of
    the unpenalised columns must exist: a fit whose linear predictor runs away (separation in
    them) raises ValueError, and the caller falls back to a model without the penalised ones."""
    k = X.shape[1]
    beta = np.zeros(k)

    def objective(b: np.ndarray) -> float:
        eta = X @ b
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)) - 0.5 * b @ (penalty * b))

    value, converged = objective(beta), False
    for _ in range(maxiter):
        p = special.expit(X @ beta)
        grad = X.T @ (y - p) - penalty * beta
        info = (X * (p * (1.0 - p))[:, None]).T @ X + np.diag(penalty)
        try:  # numpy's solve: a near-singular information matrix is no warning, only noise
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            raise ValueError("penalised fit: information matrix is singular") from None
        if np.abs(step).max() < 1e-8 * (1.0 + np.abs(beta).max()):
            converged = True
            break
        for _ in range(40):
            new = objective(beta + step)
            if new >= value - 1e-12 * (1.0 + abs(value)):
                break
            step = step / 2.0
        beta, value = beta + step, new
    if not np.all(np.isfinite(beta)) or np.abs(X @ beta).max() > 2 * MAX_ETA:
        raise ValueError("penalised fit diverged (separation in the unpenalised columns)")
    p = special.expit(X @ beta)
    info = (X * (p * (1.0 - p))[:, None]).T @ X + np.diag(penalty)
    model = np.linalg.pinv(info, hermitian=True)
    model = (model + model.T) / 2.0
    robust = _cluster_cov(model, X * (y - p)[:, None], codes, n_clusters)
    return beta, _envelope(robust, model), converged


def _envelope(robust: np.ndarray, model: np.ndarray) -> np.ndarray:
    """The smallest-in-each-direction matrix above both: under separation every score in the
    separated region is ~0, so the sandwich claims near-zero variance there."""
    R = linalg.cholesky(model, lower=True)
    Rinv = linalg.solve_triangular(R, np.eye(len(R)), lower=True)
    lam, Q = np.linalg.eigh(Rinv @ robust @ Rinv.T)
    B = R @ Q
    cov = (B * np.maximum(lam, 1.0)) @ B.T
    return (cov + cov.T) / 2.0


def _cluster_codes(groups: np.ndarray | None, n: int) -> tuple[np.ndarray, int]:
    if groups is None:
        return np.arange(n), n
    g = np.asarray(groups)
    if g.shape != (n,):
        raise ValueError(f"groups must have one label per row ({n}), got shape {g.shape}")
    codes, uniques = pd.factorize(g)
    if np.any(codes < 0):
        raise ValueError("groups contain missing labels")
    if len(uniques) < 2:
        raise ValueError("cluster-robust standard errors need at least 2 clusters")
    return codes.astype(np.intp), len(uniques)


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
        params, cov, converged = _fit_ridge(y, Xk, codes, n_clusters,
                                            np.asarray(ridge, dtype=float)[keep], maxiter)
        params.setflags(write=False)
        cov.setflags(write=False)
        return LogitFit(names=tuple(names[j] for j in keep), params=params, cov=cov,
                        method="ridge", separation=False,
                        dropped=tuple(name for j, name in enumerate(names) if j not in keep),
                        n=n, n_clusters=n_clusters, converged=converged, columns=names,
                        keep=tuple(keep), notes=tuple(notes))

    separation = _separated(y, Xk)
    if separation:
        notes.append("separation: found by the linear-programming check")
    mle = None
    if firth is False or (firth is None and not separation):
        mle = _fit_mle(y, Xk, codes, maxiter)
        if mle is None or mle[3]:
            if not separation:
                notes.append("separation: the MLE failed, diverged or did not converge")
            separation = True
    if firth is False:
        if mle is None:
            raise ValueError("the maximum-likelihood fit failed (separation?); use firth=None")
        params, cov, converged, _ = mle
        method = "mle"
    elif firth or separation:
        params, cov, model_cov, converged = _fit_firth(y, Xk, codes, n_clusters, maxiter)
        if separation:
            cov = _envelope(cov, model_cov)
            notes.append("cov: at least the model-based (X'WX)^-1 in every direction")
        method = "firth"
    else:
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
