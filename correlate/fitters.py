"""The three ways ``logit.fit_logit`` fits: the MLE with cluster-robust (CR1) covariance,
Firth's penalised likelihood (under separation), and a ridge-penalised Newton fit (a Gaussian
prior on some columns: partial pooling); the linear-programming separation check that picks
between the first two, and the covariance envelope. All numpy and scipy: the MLE is
statsmodels' Newton fit written out operation for operation (``fit_mle``), so correlate does
not import statsmodels (and pandas behind it), which cost it about a second of CPU at start.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, special

__all__ = ["MAX_ETA", "cluster_cov", "envelope", "fit_firth", "fit_mle", "fit_ridge",
           "not_separated", "separated"]

SEPARATION_TOL = 1e-6  # LP optimum (columns scaled to max |x| = 1) above this: separated
# not_separated's bound on that optimum must be this far below SEPARATION_TOL, so that the LP,
# solved to its own tolerances, could not have found more (the bound's own rounding is ~1e-13)
CERTIFICATE_TOL = 1e-2 * SEPARATION_TOL
FEASIBILITY_TOL = 1e-7  # HiGHS' own primal feasibility tolerance
MAX_ETA = 15.0  # an MLE coefficient moving the linear predictor this far means separation
LP_ROWS = 2000  # initial constraint sample; violated rows are added in rounds (cutting planes)
_CHUNK = 1024  # rows per block in the hat diagonal (measured: larger blocks thrash threads)
NEWTON_TOL = 1e-8  # statsmodels' Newton: stop when no parameter moved more than this
NEWTON_RIDGE = 1e-10  # statsmodels' Newton: added to the Hessian's diagonal before each step


def not_separated(y: np.ndarray, X: np.ndarray, params: np.ndarray) -> bool:
    """A proof from a fitted MLE that ``separated`` would find no separation, without its LP.

    Positive weights lambda_i with sum_i lambda_i s_i = 0, s_i = (2y_i - 1) x_i, rule out any
    beta != 0 with every s_i'beta >= 0 (Stiemke's alternative). The MLE gives them: its score
    sum_i (y_i - p_i) x_i is 0 and y_i - p_i = (2y_i - 1) |y_i - p_i|. The score is 0 only to
    rounding, r (per column scaled as the LP scales it): for |beta| <= 1 with every term >= 0,
    the LP's objective sum_i s_i'beta <= sum_i lambda_i s_i'beta / min lambda = r'beta /
    min lambda <= |r|_1 / min lambda, so a bound far below SEPARATION_TOL means the LP's
    optimum is 0 as well. False says nothing (the LP decides then)."""
    with np.errstate(all="ignore"):
        resid = y - special.expit(X @ params)
        lam = float(np.abs(resid).min()) if resid.size else 0.0
        r = (resid @ X) / np.abs(X).max(axis=0)
        bound = float(np.abs(r).sum()) / lam if lam > 0 else np.inf
    return bool(bound <= CERTIFICATE_TOL)


def separated(y: np.ndarray, X: np.ndarray) -> bool:
    """Is there beta != 0 with (2y_i - 1) x_i'beta >= 0 for all i (Konis 2007)? Maximise the sum
    of those terms in the box |beta| <= 1; constraints are added in rounds (cutting planes) so the
    LP stays small: a subset's optimum of 0 already proves there is no separation."""
    # scipy.optimize is scipy's slowest module to import and most fits never solve the LP
    # (not_separated settles them): correlate imports it in the background after the fits'
    # own modules, and here it is only looked up
    from scipy import optimize

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


def cluster_cov(
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


def fit_mle(
    y: np.ndarray, X: np.ndarray, codes: np.ndarray, maxiter: int
) -> tuple[np.ndarray, np.ndarray, bool, bool] | None:
    """(params, cov, converged, trouble); None when the fit cannot be computed (a singular
    Hessian). What ``statsmodels.discrete.discrete_model.Logit(y, X).fit(method="newton",
    cov_type="cluster")`` computes, in the same operations (tests/correlate/test_logit.py holds
    the two together): Newton from zeros on the mean log-likelihood, a 1e-10 ridge on the
    Hessian, stopped when no parameter moves more than 1e-8 (not converged when it took
    ``maxiter`` steps), a perfect-prediction check after every step, then the CR1 sandwich
    from the observations' scores and the inverse Hessian. ``trouble``: what statsmodels warns
    about (perfect prediction, no convergence), a non-finite result, or a coefficient that moves
    the linear predictor beyond MAX_ETA."""
    with np.errstate(all="ignore"):  # overflow in exp is the fit running away: see trouble
        return _newton(y, X, codes, maxiter)


def _newton(y: np.ndarray, X: np.ndarray, codes: np.ndarray, maxiter: int,
            ) -> tuple[np.ndarray, np.ndarray, bool, bool] | None:
    n, k = X.shape
    X_T = X.T

    def mean(params: np.ndarray) -> np.ndarray:  # statsmodels' Logit.cdf of X params
        return 1 / (1 + np.exp(-np.dot(X, params)))

    def hessian(params: np.ndarray) -> np.ndarray:  # of the log-likelihood (negative)
        L = mean(params)
        return -np.dot(L * (1 - L) * X_T, X)

    perfect = False
    iterations, old, new = 0, np.full(k, np.inf), np.zeros(k)  # inf: the first step is taken
    try:
        while iterations < maxiter and np.any(np.abs(new - old) > NEWTON_TOL):
            H = -hessian(new) / n
            H[np.diag_indices(k)] += NEWTON_RIDGE
            old = new
            new = old - np.linalg.solve(H, -np.dot(y - mean(old), X) / n)
            perfect = perfect or bool(np.allclose(mean(new) - y, 0))
            iterations += 1
        converged = iterations != maxiter
        H = hessian(new)
        np.linalg.inv(-H / n)  # statsmodels' model-based covariance: must exist
        scores = (y - mean(new))[:, None] * X
        bread = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return None
    sums = np.array([np.bincount(codes, weights=scores[:, col]) for col in range(k)]).T
    cov = np.dot(np.dot(bread, np.dot(sums.T, sums)), bread.T)
    groups = len(np.unique(codes))
    cov *= groups / (groups - 1.0) * ((n - 1.0) / float(n - k))
    params = new
    trouble = (
        perfect
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


def fit_firth(
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
    return beta, cluster_cov(bread, scores, codes, n_clusters), bread, converged


def fit_ridge(y: np.ndarray, X: np.ndarray, codes: np.ndarray, n_clusters: int,
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
    robust = cluster_cov(model, X * (y - p)[:, None], codes, n_clusters)
    return beta, envelope(robust, model), converged


def envelope(robust: np.ndarray, model: np.ndarray) -> np.ndarray:
    """The smallest-in-each-direction matrix above both: under separation every score in the
    separated region is ~0, so the sandwich claims near-zero variance there."""
    R = linalg.cholesky(model, lower=True)
    Rinv = linalg.solve_triangular(R, np.eye(len(R)), lower=True)
    lam, Q = np.linalg.eigh(Rinv @ robust @ Rinv.T)
    B = R @ Q
    cov = (B * np.maximum(lam, 1.0)) @ B.T
    return (cov + cov.T) / 2.0
