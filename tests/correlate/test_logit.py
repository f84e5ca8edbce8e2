"""The logistic-regression core: MLE with cluster-robust SEs (statsmodels' fit, written out in
numpy, held to statsmodels itself here), the LP separation check, the Firth fallback against
its 2x2 closed form, column dropping and the fit's helpers."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import special
from statsmodels.discrete.discrete_model import Logit

from parallax.correlate import fitters
from parallax.correlate import logit as lg
from parallax.correlate.logit import Estimate, fit_logit

BETA = np.array([-0.5, 0.8, -0.6])
NAMES = ["const", "x1", "x2"]


def _sim(n: int = 5000, clusters: int = 0, seed: int = 1):
    """y from BETA; with ``clusters`` a shared random effect and a cluster-level x2."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    if clusters:
        g = rng.integers(0, clusters, n)
        x2 = (rng.random(clusters) < 0.5).astype(float)[g]
        eta = np.column_stack([np.ones(n), x1, x2]) @ BETA + 1.5 * rng.normal(size=clusters)[g]
    else:
        g = np.arange(n)
        x2 = (rng.random(n) < 0.4).astype(float)
        eta = np.column_stack([np.ones(n), x1, x2]) @ BETA
    X = np.column_stack([np.ones(n), x1, x2])
    y = (rng.random(n) < special.expit(eta)).astype(float)
    return y, X, g


def _table(a: int, b: int, c: int, d: int):
    """Rows of a 2x2 table: x=1 has a successes and b failures, x=0 has c and d."""
    y = np.r_[np.ones(a), np.zeros(b), np.ones(c), np.zeros(d)]
    x = np.r_[np.ones(a + b), np.zeros(c + d)]
    return y, np.column_stack([np.ones_like(x), x])


def test_mle_recovers_known_betas_without_separation():
    y, X, _ = _sim()
    fit = fit_logit(y, X, NAMES)
    assert (fit.method, fit.separation, fit.converged, fit.dropped) == ("mle", False, True, ())
    assert fit.names == tuple(NAMES) and fit.n == 5000 and fit.n_clusters == 5000
    se = np.sqrt(np.diag(fit.cov))
    assert np.all(np.abs(fit.params - BETA) < 3 * se)
    assert np.all(se < 0.1)  # and the SEs are informative, so the check above has teeth


def test_cluster_ses_exceed_naive_ones_when_clusters_share_outcomes():
    y, X, g = _sim(n=6000, clusters=120, seed=3)
    clustered = np.sqrt(np.diag(fit_logit(y, X, NAMES, g).cov))
    naive = np.sqrt(np.diag(fit_logit(y, X, NAMES).cov))
    assert clustered[0] > 2 * naive[0] and clustered[2] > 2 * naive[2]  # cluster-level terms


def test_cluster_cov_matches_statsmodels_exactly_and_our_sandwich_agrees():
    y, X, g = _sim(n=3000, clusters=90, seed=4)
    labels = np.array([f"store-{i}" for i in g], dtype=object)  # any hashable labels
    fit = fit_logit(y, X, NAMES, labels)
    codes = np.unique(labels, return_inverse=True)[1]
    ref = Logit(y, X).fit(disp=0, cov_type="cluster", cov_kwds={"groups": codes})
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(fit.cov, ref.cov_params(), rtol=1e-10, atol=1e-14)
    assert fit.n_clusters == 90
    # the sandwich the Firth path uses, fed plain MLE scores, reproduces statsmodels' CR1
    p = special.expit(X @ fit.params)
    bread = np.linalg.inv((X * (p * (1 - p))[:, None]).T @ X)
    ours = fitters.cluster_cov(bread, X * (y - p)[:, None], codes, 90)
    np.testing.assert_allclose(ours, ref.cov_params(), rtol=1e-8)


def _statsmodels_mle(y, X, codes, maxiter):
    """What fit_mle computed with statsmodels before it was written out: (params, cov,
    converged, the warnings that made a fit trouble)."""
    import warnings

    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = Logit(y, X, check_rank=False, hasconst=True).fit(
            method="newton", disp=0, maxiter=maxiter, cov_type="cluster",
            cov_kwds={"groups": codes})
    warned = any(issubclass(w.category, (ConvergenceWarning, PerfectSeparationWarning))
                 for w in caught)
    return (np.asarray(res.params), np.asarray(res.cov_params()),
            bool(res.mle_retvals["converged"]), warned)


@pytest.mark.parametrize("case", ["plain", "clustered", "separated", "few_steps", "sparse"])
def test_mle_is_statsmodels_newton_step_for_step(case):
    """fit_mle is statsmodels' Logit Newton fit and CR1 covariance in the same operations: the
    same numbers to rounding, the same convergence and the same trouble."""
    maxiter = 100
    if case == "plain":
        y, X, g = _sim(n=4000, seed=21)
    elif case == "clustered":
        y, X, g = _sim(n=5000, clusters=150, seed=22)
    elif case == "few_steps":  # stopped by maxiter: not converged, trouble
        (y, X, g), maxiter = _sim(n=3000, clusters=80, seed=23), 2
    elif case == "separated":  # x > 0 predicts y perfectly: the MLE runs away
        rng = np.random.default_rng(24)
        x = rng.normal(size=300)
        y, X, g = (x > 0).astype(float), np.column_stack([np.ones(300), x]), np.arange(300)
    else:  # rare dummies, as the route and dependency columns are
        rng = np.random.default_rng(25)
        X = np.column_stack([np.ones(2000), rng.random((2000, 6)) < 0.03, rng.normal(size=2000)])
        y = (rng.random(2000) < special.expit(X @ np.r_[-1.0, 0.5, -0.4, 1.0, 0, 0.3, 2.0, 0.2])
             ).astype(float)
        g = rng.integers(0, 400, 2000)
    codes = lg._cluster_codes(g, len(y))[0]
    ours = fitters.fit_mle(y, X, codes, maxiter)
    assert ours is not None
    params, cov, converged, trouble = ours
    ref_params, ref_cov, ref_converged, warned = _statsmodels_mle(y, X, codes, maxiter)
    np.testing.assert_allclose(params, ref_params, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-9, atol=1e-15 * np.abs(ref_cov).max())
    assert converged == ref_converged
    assert (case in ("separated", "few_steps")) == trouble
    assert warned == (case in ("separated", "few_steps"))  # statsmodels saw the same


def test_cluster_codes_are_in_order_of_first_appearance_and_refuse_missing_labels():
    codes, n = lg._cluster_codes(np.array(["b", "a", "b", "c", "a"], dtype=object), 5)
    assert codes.tolist() == [0, 1, 0, 2, 1] and n == 3  # as pandas.factorize numbers them
    for bad in (np.array(["a", None, "b"], dtype=object), np.array([1.0, np.nan, 2.0])):
        with pytest.raises(ValueError, match="missing"):
            lg._cluster_codes(bad, 3)
    with pytest.raises(ValueError, match="2 clusters"):
        lg._cluster_codes(np.array(["a", "a"], dtype=object), 2)


@pytest.mark.parametrize("cells", [(10, 0, 5, 7), (0, 6, 9, 4), (8, 3, 12, 0), (1, 0, 2, 1)])
def test_zero_cell_2x2_separates_and_firth_matches_closed_form(cells):
    a, b, c, d = cells
    y, X = _table(a, b, c, d)
    fit = fit_logit(y, X, ["const", "x"])
    assert fit.separation and fit.method == "firth" and fit.converged
    assert np.all(np.isfinite(fit.params)) and np.all(np.isfinite(fit.cov))
    log_or = np.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5)))
    assert fit.params[1] == pytest.approx(log_or, abs=1e-6)
    assert fit.params[0] == pytest.approx(np.log((c + 0.5) / (d + 0.5)), abs=1e-6)
    # every score in the all-one-outcome cell is ~0, so the bare sandwich says variance ~0
    # there; the reported cov is floored at the model-based variance of that cell's log odds
    p0 = (c + 0.5) / (c + d + 1.0)
    assert fit.cov[0, 0] >= (1 - 1e-6) / ((c + d) * p0 * (1 - p0))


def test_envelope_is_above_both_covariances():
    rng = np.random.default_rng(11)
    A, B = rng.normal(size=(2, 4, 6))
    robust, model = A @ A.T, B @ B.T + 0.1 * np.eye(4)
    env = fitters.envelope(robust, model)
    for other in (robust, model):
        assert np.linalg.eigvalsh(env - other).min() > -1e-9
    np.testing.assert_allclose(fitters.envelope(2 * model, model), 2 * model, rtol=1e-10)


def test_forced_firth_on_full_2x2_is_the_half_added_odds_ratio():
    y, X = _table(7, 3, 4, 9)
    fit = fit_logit(y, X, ["const", "x"], firth=True)
    assert (fit.method, fit.separation) == ("firth", False)
    assert fit.params[1] == pytest.approx(np.log(7.5 * 9.5 / (3.5 * 4.5)), abs=1e-6)


def test_forced_mle_reports_separation_but_keeps_the_mle():
    y, X = _table(10, 0, 5, 7)
    fit = fit_logit(y, X, ["const", "x"], firth=False)
    assert fit.method == "mle" and fit.separation
    assert abs(fit.params[1]) > 10  # the diverging MLE, which is why Firth is the default


def test_separation_missed_by_the_lp_is_caught_from_the_mle(monkeypatch):
    monkeypatch.setattr(lg, "separated", lambda y, X: False)
    rng = np.random.default_rng(5)
    x = rng.normal(size=400)
    y = (x > 0).astype(float)
    fit = fit_logit(y, np.column_stack([np.ones(400), x]), ["const", "x"])
    assert fit.separation and fit.method == "firth"
    assert any("MLE" in note for note in fit.notes)
    assert np.isfinite(fit.params).all() and fit.params[1] > 2


def test_lp_check_finds_a_rare_separating_dummy_in_many_rows():
    y, X, _ = _sim(n=20000, seed=6)
    ones = np.flatnonzero(y == 1)
    rare = np.zeros(len(y))
    rare[ones[-25:]] = 1.0  # 25 rows, all successes: quasi-complete separation
    assert fitters.separated(y, np.column_stack([X, rare]))
    mixed = np.zeros(len(y))
    mixed[np.r_[ones[-20:], np.flatnonzero(y == 0)[-5:]]] = 1.0
    assert not fitters.separated(y, np.column_stack([X, mixed]))
    assert not fitters.separated(y, X)


def test_a_clean_mle_proves_no_separation_and_the_lp_agrees():
    y, X, _ = _sim(n=20000, seed=6)
    ones = np.flatnonzero(y == 1)
    mixed = np.zeros(len(y))
    mixed[np.r_[ones[-20:], np.flatnonzero(y == 0)[-5:]]] = 1.0
    for Xs in (X, np.column_stack([X, mixed])):
        mle = fitters.fit_mle(y, Xs, np.arange(len(y)), 100)
        assert mle is not None and not mle[3]
        assert fitters.not_separated(y, Xs, mle[0])
        assert not fitters.separated(y, Xs)  # what the proof stands in for
        # a point that is not the MLE leaves a score far from 0: no proof from it
        assert not fitters.not_separated(y, Xs, mle[0] + 0.01)


def test_no_proof_of_no_separation_from_separated_data():
    y, X, _ = _sim(n=20000, seed=6)
    rare = np.zeros(len(y))
    rare[np.flatnonzero(y == 1)[-25:]] = 1.0  # quasi-complete separation
    Xs = np.column_stack([X, rare])
    mle = fitters.fit_mle(y, Xs, np.arange(len(y)), 100)
    assert mle is not None and mle[3]  # the MLE runs away
    assert not fitters.not_separated(y, Xs, mle[0])
    assert fitters.separated(y, Xs)


def test_a_fit_the_proof_settles_solves_no_lp_and_is_the_same_fit(monkeypatch):
    y, X, g = _sim(n=3000, clusters=60, seed=4)
    monkeypatch.setattr(lg, "not_separated", lambda y, X, params: False)
    lp_fit = fit_logit(y, X, NAMES, g)  # the LP decides, as before the proof existed
    monkeypatch.undo()

    def no_lp(y, X):
        raise AssertionError("the LP was solved")

    monkeypatch.setattr(lg, "separated", no_lp)
    fit = fit_logit(y, X, NAMES, g)
    assert (fit.method, fit.separation, fit.notes) == ("mle", False, ())
    assert np.array_equal(fit.params, lp_fit.params)
    assert np.array_equal(fit.cov, lp_fit.cov)


def test_firth_on_non_separated_data_is_mle_shrunk_toward_zero():
    y, X, _ = _sim(n=800, seed=7)
    mle = fit_logit(y, X, NAMES)
    firth = fit_logit(y, X, NAMES, firth=True)
    assert firth.method == "firth" and not firth.separation and firth.converged
    se = np.sqrt(np.diag(mle.cov))
    assert np.all(np.abs(firth.params - mle.params) < 0.1 * se)
    assert np.all(np.abs(firth.params[1:]) < np.abs(mle.params[1:]))
    np.testing.assert_allclose(np.sqrt(np.diag(firth.cov)), se, rtol=0.05)


def test_dropped_columns_are_reported_and_the_original_layout_still_works():
    y, X, g = _sim(n=2000, clusters=50, seed=8)
    wide = np.column_stack([X[:, 0], np.zeros(len(y)), X[:, 1], 2 * X[:, 1] + 1, X[:, 2], X[:, 0]])
    names = ["const", "zero", "x1", "x1_affine", "x2", "const_again"]
    fit = fit_logit(y, wide, names, g)
    assert fit.names == ("const", "x1", "x2")
    assert fit.dropped == ("zero", "x1_affine", "const_again")
    assert len(fit.notes) >= 3 and any("all zero" in note for note in fit.notes)
    assert fit.index("x2") == 2 and fit.index("zero") is None and fit.index("nope") is None
    np.testing.assert_allclose(fit.params, fit_logit(y, X, NAMES, g).params, rtol=1e-10)
    np.testing.assert_allclose(fit.predict(wide[:7]), special.expit(X[:7] @ fit.params))
    with pytest.raises(ValueError):
        fit.predict(X)  # the kept layout is not the original one

    est = fit.contrast({"x1": 1.0, "x2": -2.0, "zero": 5.0})
    c = np.array([0.0, 1.0, -2.0])
    assert est.estimate == pytest.approx(c @ fit.params, rel=1e-12)
    assert est.se == pytest.approx(np.sqrt(c @ fit.cov @ c), rel=1e-12)
    assert est.ci_low < est.estimate < est.ci_high
    assert fit.contrast({"zero": 1.0}).se == 0.0
    with pytest.raises(KeyError):
        fit.contrast({"x3": 1.0})


def test_estimate_is_z_based():
    est = Estimate.from_normal(1.959963984540054, 1.0)
    assert est.p_value == pytest.approx(0.05, abs=1e-12)
    assert est.ci_low == pytest.approx(0.0, abs=1e-12)
    assert Estimate.from_normal(0.0, 2.0, level=0.5).ci_high == pytest.approx(1.3489795, abs=1e-6)


def test_draws_follow_params_and_cov_and_predict_per_draw():
    y, X, g = _sim(n=3000, clusters=100, seed=9)
    fit = fit_logit(y, X, NAMES, g)
    draws = fit.draws(20000, np.random.default_rng(0))
    assert draws.shape == (20000, 3)
    se = np.sqrt(np.diag(fit.cov))
    assert np.all(np.abs(draws.mean(axis=0) - fit.params) < 0.05 * se)
    np.testing.assert_allclose(np.cov(draws.T), fit.cov, rtol=0.05, atol=0.05 * se.max() ** 2)
    probs = fit.predict_draws(X[:5], draws[:4])
    assert probs.shape == (4, 5)
    np.testing.assert_allclose(probs, special.expit(draws[:4] @ X[:5].T))
    # the negated draws' product is the negated product to the bit: the same predictions as
    # negating the (draws x rows) product itself
    assert fit.keep == (0, 1, 2)
    eta = draws[:50] @ X.T
    np.testing.assert_array_equal(fit.predict_draws(X, draws[:50]),
                                  1.0 / (1.0 + np.exp(np.negative(eta))))


def test_summed_predictions_in_blocks_equal_the_whole_arrays_sums(monkeypatch):
    y, X, g = _sim(n=3000, clusters=100, seed=9)
    fit = fit_logit(y, X, NAMES, g)
    draws = fit.draws(200, np.random.default_rng(0))
    w = np.random.default_rng(1).integers(1, 4, len(X)).astype(float)
    monkeypatch.setattr(lg, "_BLOCK", 200 * 7)  # blocks of 7 rows, the last one short
    whole = fit.predict_draws(X, draws)
    np.testing.assert_allclose(fit.summed_predict_draws(X, draws), whole.sum(axis=1),
                               rtol=1e-13, atol=0)
    np.testing.assert_allclose(fit.summed_predict_draws(X, draws, w), whole @ w,
                               rtol=1e-13, atol=0)
    assert fit.summed_predict_draws(X[:0], draws).tolist() == [0.0] * 200


def test_in_place_logistic_agrees_with_scipy_over_the_whole_range():
    eta = np.r_[np.linspace(-800.0, 800.0, 100_001), -709.0, -1e-300, 0.0, 37.0, 1e308]
    want = special.expit(eta)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # none escapes
        got = lg._expit_of_negated(-eta)
    big = want > 1e-300  # below that, 0 instead of a subnormal
    np.testing.assert_allclose(got[big], want[big], rtol=1e-15, atol=0)
    assert np.all(got[~big] < 1e-300) and np.all((got >= 0) & (got <= 1))


@pytest.mark.parametrize(
    ("y", "X", "groups"),
    [
        (np.ones(10), np.ones((10, 1)), None),  # constant outcome
        (np.r_[0.0, 1.0], np.column_stack([np.ones(2), [0.0, 1.0]]), None),  # n < k + 1
        (np.r_[0.0, 1.0, 1.0, 0.0], np.ones((4, 1)), np.zeros(4)),  # a single cluster
        (np.r_[0.0, 2.0, 1.0], np.ones((3, 1)), None),  # not binary
    ],
)
def test_unfittable_input_raises_value_error(y, X, groups):
    with pytest.raises(ValueError):
        fit_logit(y, X, [f"c{j}" for j in range(X.shape[1])], groups)


@pytest.mark.slow
@pytest.mark.parametrize("firth", [None, True])
def test_200k_by_30_fits_in_seconds(firth):
    rng = np.random.default_rng(10)
    n = 200_000
    X = np.column_stack(
        [np.ones(n), rng.normal(size=(n, 10)), rng.integers(0, 2, (n, 10)), rng.random((n, 9))]
    )
    y = (rng.random(n) < special.expit(X @ rng.normal(0, 0.3, 30) - 0.5)).astype(float)
    start = time.perf_counter()
    fit = fit_logit(y, X, [f"c{j}" for j in range(30)], rng.integers(0, 5000, n), firth=firth)
    assert fit.method == ("firth" if firth else "mle") and fit.converged
    assert time.perf_counter() - start < 5.0


def test_ridge_shrinks_only_the_penalised_columns_and_vanishes_with_its_penalty():
    rng = np.random.default_rng(5)
    n = 3000
    x, z = rng.normal(size=n), rng.normal(size=n)
    y = (rng.random(n) < special.expit(-0.5 + 0.8 * x + 0.6 * z)).astype(float)
    X = np.column_stack([np.ones(n), x, z])
    names = ["const", "x", "z"]
    mle = fit_logit(y, X, names, firth=False)
    weak = fit_logit(y, X, names, ridge=np.array([0.0, 0.0, 1e-8]))
    strong = fit_logit(y, X, names, ridge=np.array([0.0, 0.0, 1e6]))
    assert weak.method == strong.method == "ridge"
    np.testing.assert_allclose(weak.params, mle.params, atol=1e-4)
    assert abs(strong.params[2]) < 0.01 < abs(mle.params[2])  # z pulled to its prior mean 0
    assert abs(strong.params[1] - mle.params[1]) < 0.15  # x left to the data
    # the covariance is at least the posterior's in every direction
    post = np.linalg.inv((X * (special.expit(X @ strong.params)
                               * (1 - special.expit(X @ strong.params)))[:, None]).T @ X
                         + np.diag([0.0, 0.0, 1e6]))
    assert np.linalg.eigvalsh(strong.cov - post).min() > -1e-9


def test_draws_follow_the_covariance_not_the_basis_eigh_picks():
    """Covariances equal to the last bits (DuckDB's parallel sums differ so from run to run)
    give draws equal to the last bits, even where eigenvalues repeat and eigh may pick any
    basis or sign; numpy's eigh method multiplies by that basis and can give another sample.
    The draws still have the covariance asked for, singular ones included."""
    base = np.diag([2.0, 2.0, 2.0, 0.5, 0.0])  # repeated and zero eigenvalues
    base[3, 4] = base[4, 3] = 0.0
    mean = np.array([0.3, -1.0, 0.0, 2.0, 1.0])
    wiggle = np.random.default_rng(1).normal(0.0, 1e-15, (5, 5))
    other = base + (wiggle + wiggle.T)
    ours = [lg.normal_draws(mean, c, 4000, np.random.default_rng(7)) for c in (base, other)]
    assert np.max(np.abs(ours[0] - ours[1])) < 1e-9
    theirs = [np.random.default_rng(7).multivariate_normal(mean, c, size=4000, method="eigh")
              for c in (base, other)]
    assert np.max(np.abs(theirs[0] - theirs[1])) > 1e-3  # what the old draws did
    sample = ours[0]
    assert np.allclose(sample.mean(axis=0), mean, atol=0.1)
    assert np.allclose(np.cov(sample.T), base, atol=0.15)
    assert np.all(sample[:, 4] == mean[4])  # no spread where the covariance has none
