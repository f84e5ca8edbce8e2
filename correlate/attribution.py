"""Attribution of poor feedback: per subject (route, or a segment such as device), how much of
its excess poor-feedback rate the delivered experience explains.

Two joint logistic models over the linked responses, clustered by user:
  A: poor ~ subject + controls                       (route effects alone)
  B: poor ~ subject + controls + log_load + error + fail:<dependency>   (after delivery)
Model B splits a subject's excess on the log-odds scale in two. The design part is its level
minus the reference level (routes: the site's normal, the response-weighted median route;
segments: the other segments' weighted mean). The delivery part is what its delivery adds
(routes: the mean log-odds above good delivery — load capped at the good threshold, no
errors, no failures; segments: above what the rest of the site was served). The explained
share is delivery / (delivery + max(design, 0)); intervals come from parameter draws (plus,
for a segment's delivery gap, the sampling noise of the two group means). Extra poor
responses: model B's predictions with actual minus good delivery, over the subject's responses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import expit

from parallax.correlate.design import Design, build_design
from parallax.correlate.frame import Frame
from parallax.correlate.logit import Estimate, LogitFit, fit_logit
from parallax.correlate.settings import Settings

UNKNOWN = "(unknown)"  # frame.py's label for a missing control value

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
    baseline_poor_rate: float  # predicted at the site's normal: good delivery, median level
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
               controls: Mapping[str, np.ndarray], settings: Settings) -> Models:
    a = build_design(factor, values, controls, delivery=None, min_level=settings.min_level)
    b = build_design(factor, values, controls, delivery=delivery_columns(frame),
                     min_level=settings.min_level)
    fit_a = fit_logit(frame.y, a.X, a.names, frame.cluster)
    fit_b = fit_logit(frame.y, b.X, b.names, frame.cluster)
    draws = fit_b.draws(settings.draws, np.random.default_rng(settings.seed))
    return Models(factor, fit_a, fit_b, b, frame, draws, fit_b.predict(b.X),
                  fit_b.predict_draws(b.X, draws))


def subject_effects(m: Models, settings: Settings, *, relative: bool = False,
                    ) -> list[SubjectEffect]:
    """Per level of the subject factor: design part, delivery part, share, extra poor.

    Routes (``relative=False``) are measured against the site's normal: the response-weighted
    median level (a minority of troubled routes cannot drag it towards themselves) with good
    delivery. Segments (``relative=True``) are measured against the rest of the site: the other
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
             or name.startswith("fail:")]
    served = b.X[:, keep][:, deliv] @ m.b.params[deliv]
    served_draws = m.draws[:, deliv] @ b.X[:, keep][:, deliv].T
    out = []
    for i, (level, col, a_col) in enumerate(zip(levels, cols, a_cols, strict=True)):
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
        ref, ref_draws = _reference(m.b.params[cols], m.draws[:, cols], w, relative)
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
            normal = float(expit(eta_good[rows] - m.b.params[col] + ref).mean())
        design = float(m.b.params[col] - ref)
        design_draws = m.draws[:, col] - ref_draws
        raw = _estimate(part + design, part_draws + design_draws)
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
            a_ref, _ = _reference(m.a.params[a_cols], m.a.params[a_cols][None, :], w, relative)
            route_only = Estimate.from_normal(float(m.a.params[a_col] - a_ref),
                                              float(np.sqrt(m.a.cov[a_col, a_col])))
        out.append(SubjectEffect(
            m.factor, level, n, int(frame.y[rows].sum()), float(frame.y[rows].mean()),
            normal, raw, _estimate(design, design_draws), route_only,
            _interval(part, part_draws), share, _extra(m, good, rows), m.b.method))
    return out


def _reference(point: np.ndarray, draws: np.ndarray, weights: np.ndarray, mean: bool,
               ) -> tuple[float, np.ndarray]:
    """The reference level: weighted mean (others) or weighted median (all), per draw."""
    if mean:
        w = weights / weights.sum()
        return float(point @ w), draws @ w
    return float(_weighted_median(point[None, :], weights)[0]), _weighted_median(draws, weights)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise weighted median of ``values`` (draws × levels)."""
    order = np.argsort(values, axis=1)
    cum = np.cumsum(weights[order], axis=1)
    pick = (cum >= cum[:, -1:] / 2).argmax(axis=1)
    return np.take_along_axis(values, order, axis=1)[np.arange(len(values)), pick]


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
