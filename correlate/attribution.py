"""Attribution of poor feedback: per subject (route, or a segment such as device), how much of
its excess poor-feedback rate the delivered experience explains.

Two joint logistic models over the linked responses, clustered by user:
  A: poor ~ subject + controls                       (route effects alone)
  B: poor ~ subject + controls + log_load + error + fail:<dependency>   (after delivery)
For routes, model B gives each route its own load slope, partially pooled: the common slope
plus a per-route deviation with a Gaussian prior whose variance is estimated from the routes'
separate slopes (DerSimonian–Laird) — a route's delivery counts against it only as far as its
own customers' answers follow its own load times, while a route with little spread of load
times borrows the site's slope. Model B splits a subject's excess on the log-odds scale in two.
The design part is its level at good delivery minus the reference level (routes: the site's
normal, the unweighted median level of the routes with enough responses, which troubled routes
that attract many answers cannot pull towards themselves; segments: the other segments'
weighted mean). The delivery part is what its delivery adds (routes: the mean log-odds above
good delivery — load capped at the good threshold, no errors, no failures; segments: above
what the rest of the site was served). The explained share is delivery / (delivery +
max(design, 0)); intervals come from parameter draws (plus, for a segment's delivery gap, the
sampling noise of the two group means). Extra poor responses: model B's predictions with
actual minus good delivery, over the subject's responses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import expit

from parallax.correlate.design import OTHER, Design, build_design
from parallax.correlate.frame import Frame
from parallax.correlate.logit import Estimate, LogitFit, fit_logit
from parallax.correlate.settings import Settings

UNKNOWN = "(unknown)"  # frame.py's label for a missing control value
# The prior sd of a route's slope deviation is at least this (log-odds per ln second): a few
# routes do not show how much routes differ, and a route whose pages are all slow is read at
# good delivery only through some slope — its design part must carry that uncertainty.
MIN_SLOPE_SD = 0.2

__all__ = ["Interval", "Models", "SubjectEffect", "delivery_columns", "fit_models",
           "good_delivery", "subject_effects"]


@dataclass(frozen=True)
class Interval:
    estimate: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class SubjectEffect:
    factor: str
    subject: str
    n: int
    n_poor: int
    poor_rate: float
    # routes: predicted on the site's normal route as delivered (model A at the median level);
    # segments: the rest of the site's observed poor rate
    baseline_poor_rate: float
    raw: Estimate  # log-odds above the site's normal, as customers report it
    adjusted: Estimate  # what remains once delivery is accounted for (level vs normal)
    route_only: Estimate | None  # model A: level vs median level, controls only
    delivery_part: Interval  # log-odds of the excess explained by delivery
    explained_share: Interval | None  # None when there is no excess to explain
    extra_poor: Interval  # poor responses above good delivery
    method: str  # "mle" or "firth" (model B)


@dataclass(frozen=True)
class Models:
    factor: str
    a: LogitFit
    b: LogitFit
    design_b: Design
    frame: Frame  # the rows the models were fitted on
    draws: np.ndarray  # model B parameter draws
    p: np.ndarray  # model B predictions, actual delivery
    p_draws: np.ndarray  # (draws, n)
    design_a: Design
    a_draws: np.ndarray  # model A parameter draws


def delivery_columns(frame: Frame) -> dict[str, np.ndarray]:
    cols = {"log_load": frame.log_load, "error": frame.error}
    for peer, served in sorted(frame.dep_failed_served.items()):
        if served.any():
            cols[f"fail:{peer}"] = served
    return cols


def good_delivery(design: Design, frame: Frame, settings: Settings,
                  rows: np.ndarray | None = None) -> np.ndarray:
    """Design B with delivery set to good (on ``rows`` only, when given)."""
    rows = np.ones(frame.n, dtype=bool) if rows is None else rows
    cap = np.log(settings.good_load_ms / 1000.0)
    repl = {"log_load": np.where(rows, np.minimum(frame.log_load, cap), frame.log_load),
            "error": np.where(rows, 0.0, frame.error)}
    for name in design.names:
        if name.startswith("fail:"):
            repl[name] = np.where(rows, 0.0, design.X[:, design.column(name)])
    return design.replace(repl)


def fit_models(frame: Frame, factor: str, values: np.ndarray,
               controls: Mapping[str, np.ndarray], settings: Settings, *,
               slopes: bool = False) -> Models:
    """Models A and B; ``slopes``: B with partially pooled per-level load slopes (routes)."""
    a = build_design(factor, values, controls, delivery=None, min_level=settings.min_level)
    fit_a = fit_logit(frame.y, a.X, a.names, frame.cluster)
    b, fit_b = None, None
    if slopes:
        b = build_design(factor, values, controls, delivery=delivery_columns(frame),
                         min_level=settings.min_level,
                         slopes_at=float(np.log(settings.good_load_ms / 1000.0)),
                         slope_rows=np.isin(frame.link, ("session", "user")))
        fit_b = _pooled_slopes(frame, b)
    if b is None or fit_b is None:
        b = build_design(factor, values, controls, delivery=delivery_columns(frame),
                         min_level=settings.min_level)
        fit_b = fit_logit(frame.y, b.X, b.names, frame.cluster)
    rng = np.random.default_rng(settings.seed)
    draws = fit_b.draws(settings.draws, rng)
    return Models(factor, fit_a, fit_b, b, frame, draws, fit_b.predict(b.X),
                  fit_b.predict_draws(b.X, draws), a, fit_a.draws(settings.draws, rng))


def _pooled_slopes(frame: Frame, b: Design) -> LogitFit | None:
    """Model B with per-level slope deviations under a N(0, tau^2) prior, tau^2 estimated by
    DerSimonian–Laird from a fit where every level has a slope of its own; None when there are
    too few levels to tell or a fit fails (the caller then uses one common slope)."""
    slope = b.slope_columns
    if len(slope) < 3:
        return None
    own = [i for i, n in enumerate(b.names) if n != "log_load"]
    try:
        sep = fit_logit(frame.y, b.X[:, own], [b.names[i] for i in own], frame.cluster)
    except ValueError:
        return None
    est = [(sep.params[j], sep.cov[j, j]) for n in b.names if n.startswith("slope:")
           and (j := sep.index(n)) is not None and sep.cov[j, j] > 0]
    if len(est) < 3:
        return None
    s_r, v_r = np.array([e for e, _ in est]), np.array([v for _, v in est])
    w = 1.0 / v_r
    q = float(np.sum(w * (s_r - np.sum(w * s_r) / w.sum()) ** 2))
    tau2 = max(0.0, (q - (len(est) - 1)) / (w.sum() - np.sum(w**2) / w.sum()))
    ridge = np.zeros(len(b.names))
    ridge[slope] = 1.0 / max(tau2, MIN_SLOPE_SD**2)
    try:
        return fit_logit(frame.y, b.X, b.names, frame.cluster, ridge=ridge)
    except ValueError:
        return None


def subject_effects(m: Models, settings: Settings, *, relative: bool = False,
                    healthy: set[str] | None = None) -> list[SubjectEffect]:
    """Per level of the subject factor: design part, delivery part, share, extra poor.

    Routes (``relative=False``) are measured against the site's normal. The design part: the
    unweighted median level at good delivery of the routes with at least ``min_responses``
    responses (neither a minority of troubled routes nor the routes that attract many answers
    can move it). The raw excess, as customers report it (model A): the median level of the
    ``healthy`` routes among those (delivery within thresholds), when there are two or more —
    a route is not unhappy merely for being less troubled than other troubled routes.
    Segments (``relative=True``) are measured against the rest of the site: the other
    levels' weighted mean, and the delivery the rest actually got — a segment is "delivery"
    when it is served worse than the others, not merely when the whole site is slow.
    """
    frame, b = m.frame, m.design_b
    counts = Counter(b.subject.tolist())
    levels = [lv for lv in b.levels if m.b.index(f"{m.factor}={lv}") is not None]
    cols = [m.b.index(f"{m.factor}={lv}") for lv in levels]
    weights = np.array([counts[lv] for lv in levels], dtype=float)
    a_cols = [m.a.index(f"{m.factor}={lv}") for lv in levels]
    keep = list(m.b.keep)
    eta = b.X[:, keep] @ m.b.params
    eta_draws = m.draws @ b.X[:, keep].T
    deliv = [i for i, name in enumerate(m.b.names) if name in ("log_load", "error")
             or name.startswith(("fail:", "slope:"))]
    served = b.X[:, keep][:, deliv] @ m.b.params[deliv]
    served_draws = m.draws[:, deliv] @ b.X[:, keep][:, deliv].T
    at_good, at_good_draws = _levels(m, levels, cols, settings)
    typical = _typical_load(m, healthy, settings)
    out = []
    for i, (level, a_col) in enumerate(zip(levels, a_cols, strict=True)):
        rows = b.subject == level
        n = int(rows.sum())
        if n == 0 or n == frame.n:
            continue
        w = weights.copy()
        others = ~rows
        if relative:  # the rest: other known levels (an unknown level is a data gap)
            w[i] = 0.0
            w[[j for j, lv in enumerate(levels) if lv == UNKNOWN]] = 0.0
            others &= b.subject != UNKNOWN
            if not others.any():
                continue
        ref, ref_draws = _reference(at_good, at_good_draws, w, relative,
                                    _normal_levels(levels, weights, settings))
        good = good_delivery(b, frame, settings, rows)
        eta_good = good[:, keep] @ m.b.params
        if relative:  # delivery worse than the rest of the site got
            part = float(served[rows].mean() - served[others].mean())
            part_draws = (served_draws[:, rows].mean(axis=1)
                          - served_draws[:, others].mean(axis=1))
            # The gap between two sample means is itself uncertain, not only the slopes.
            noise = np.sqrt(served[rows].var() / rows.sum() + served[others].var() / others.sum())
            part_draws = part_draws + np.random.default_rng(settings.seed + i).normal(
                0.0, noise, len(part_draws))
            normal = float(frame.y[others].mean())
        else:  # delivery worse than good delivery
            part = float((eta - eta_good)[rows].mean())
            part_draws = (eta_draws[:, rows] - m.draws @ good[rows][:, keep].T).mean(axis=1)
        design = float(at_good[i] - ref)
        design_draws = at_good_draws[:, i] - ref_draws
        raw = _estimate(part + design, part_draws + design_draws)
        if not relative:  # as customers report it: against the site's typical delivery
            raw, normal = _against_typical(m, rows, part + design, part_draws + design_draws,
                                           typical, settings)
        share = None
        if part + max(design, 0.0) > 0 and raw.estimate > 0:
            total = part_draws + np.maximum(design_draws, 0.0)
            ok = total > 0
            lo, hi = (np.quantile(np.clip(part_draws[ok] / total[ok], 0, 1), [0.025, 0.975])
                      if ok.any() else (np.nan, np.nan))
            share = Interval(min(1.0, max(0.0, part / (part + max(design, 0.0)))), float(lo),
                             float(hi))
        route_only = None
        if a_col is not None and None not in a_cols:
            a_ref, a_ref_draws = _reference(m.a.params[a_cols], m.a_draws[:, a_cols], w,
                                            relative, _normal_levels(levels, weights, settings))
            route_only = _estimate(float(m.a.params[a_col] - a_ref),
                                   m.a_draws[:, a_col] - a_ref_draws)
        out.append(SubjectEffect(
            m.factor, level, n, int(frame.y[rows].sum()), float(frame.y[rows].mean()),
            normal, raw, _estimate(design, design_draws), route_only,
            _interval(part, part_draws), share, _extra(m, good, rows), m.b.method))
    return out


def _good_load(m: Models, settings: Settings) -> np.ndarray:
    return np.minimum(m.frame.log_load, np.log(settings.good_load_ms / 1000.0))


def _typical_load(m: Models, healthy: set[str] | None, settings: Settings) -> float:
    """The site's typical delivery: the mean good-delivery log load of the responses on routes
    with healthy delivery (all responses when no route is healthy)."""
    good = _good_load(m, settings)
    on = np.isin(m.design_b.subject, list(healthy or ()))
    return float(good[on].mean() if on.any() else good.mean())


def _against_typical(m: Models, rows: np.ndarray, point: float, draws: np.ndarray,
                     typical: float, settings: Settings) -> tuple[Estimate, float]:
    """A route's excess as customers report it — its customers as delivered against the site's
    normal route at the site's typical delivery — and that normal's poor rate. The parts add up
    to it: design part + delivery part + (its good-delivery load − the typical load) through the
    common slope, the share of its slowness still within "good" (``point``/``draws`` hold the
    first two)."""
    j = m.b.index("log_load")
    gap = float(_good_load(m, settings)[rows].mean() - typical) if j is not None else 0.0
    slope = m.b.params[j] if j is not None else 0.0
    raw = _estimate(point + slope * gap, draws + (m.draws[:, j] * gap if j is not None else 0.0))
    # the same customers, each shifted by the route's excess: their poor rate on the normal route
    eta = m.design_b.X[:, list(m.b.keep)] @ m.b.params
    return raw, float(expit(eta[rows] - raw.estimate).mean())


def _levels(m: Models, levels: list[str], cols: list[int], settings: Settings,
            ) -> tuple[np.ndarray, np.ndarray]:
    """Each level's log-odds at good delivery (the subject dummies), point and draws. With
    per-level slopes a level is read where its own data are — at its mean good-delivery load —
    and carried to the common reference through the common slope: a route whose pages all load
    in about a second is not judged by extrapolating its own slope to 2.5 s."""
    point, draws = m.b.params[cols].copy(), m.draws[:, cols].copy()
    b = m.design_b
    if b.slopes_at is None:
        return point, draws
    good = good_delivery(b, m.frame, settings)
    for i, lv in enumerate(levels):
        j = m.b.index(f"slope:{m.factor}={lv}")
        if j is not None:
            at = float(good[b.subject == lv, b.column(f"slope:{m.factor}={lv}")].mean())
            point[i] += m.b.params[j] * at
            draws[:, i] += m.draws[:, j] * at
    return point, draws


def _normal_levels(levels: list[str], counts: np.ndarray, settings: Settings) -> np.ndarray:
    """Which levels make the site's normal: those with ``min_responses`` responses (all known
    levels when fewer than three have that many). Never the pooled rare ones."""
    known = np.array([lv not in (OTHER, UNKNOWN) for lv in levels])
    enough = known & (counts >= settings.min_responses)
    return enough if enough.sum() >= 3 else (known if known.any() else np.ones_like(known))


def _reference(point: np.ndarray, draws: np.ndarray, weights: np.ndarray, mean: bool,
               normal: np.ndarray) -> tuple[float, np.ndarray]:
    """The reference level, per draw: the others' weighted mean (segments), or the site's
    normal route level (routes: ``_consistent_mean``)."""
    if mean:
        w = weights / weights.sum()
        return float(point @ w), draws @ w
    keep = _consistent(point, draws, np.flatnonzero(normal))
    return float(point[keep].mean()), draws[:, keep].mean(axis=1)


def _consistent(point: np.ndarray, draws: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The routes whose level is consistent with the site's normal: start from the unweighted
    median of the levels and keep, in a few rounds, the routes within two standard errors of
    the mean of those kept. Routes with a design problem (or much happier customers) drop out
    however many answers they attract, so they move the normal neither by their number of
    responses nor by their share of routes; with fewer than two consistent routes, the middle
    ones (the median) stand in."""
    centre = float(np.median(point[idx]))
    ref_draws = np.median(draws[:, idx], axis=1)
    keep = idx
    for _ in range(5):
        sd = (draws[:, idx] - ref_draws[:, None]).std(axis=0)
        inside = idx[np.abs(point[idx] - centre) <= 2.0 * np.maximum(sd, 1e-9)]
        if len(inside) < 2:
            middle = np.argsort(point[idx])[(len(idx) - 1) // 2:len(idx) // 2 + 1]
            return idx[middle]
        if np.array_equal(inside, keep):
            break
        keep, centre = inside, float(point[inside].mean())
        ref_draws = draws[:, inside].mean(axis=1)
    return keep


def _estimate(point: float, draws: np.ndarray) -> Estimate:
    """Point estimate with the draws' spread: percentile interval, normal-approximation p."""
    sd = float(draws.std())
    lo, hi = np.quantile(draws, [0.025, 0.975])
    p = float(2 * stats.norm.sf(abs(point) / sd)) if sd > 0 else float("nan")
    return Estimate(point, sd, float(lo), float(hi), p)


def _interval(point: float, draws: np.ndarray) -> Interval:
    return Interval(point, *np.quantile(draws, [0.025, 0.975]).tolist())


def _extra(m: Models, cf: np.ndarray, rows: np.ndarray) -> Interval:
    """Poor responses among ``rows`` above what the counterfactual design predicts."""
    point = float((m.p[rows] - m.b.predict(cf)[rows]).sum())
    sims = (m.p_draws[:, rows] - m.b.predict_draws(cf, m.draws)[:, rows]).sum(axis=1)
    lo, hi = np.quantile(sims, [0.025, 0.975])
    return Interval(point, float(lo), float(hi))
