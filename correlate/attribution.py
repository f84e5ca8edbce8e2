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
normal, the unweighted median level of the routes with enough responses that agree with one
another (normal.consensus), which troubled routes that attract many answers cannot pull
towards themselves; segments: the other segments' weighted mean). The delivery part is
what its delivery adds (routes: the mean log-odds above
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
from typing import cast

import numpy as np

from parallax.correlate.design import Design, build_design, delivery_columns, good_delivery
from parallax.correlate.frame import UNKNOWN, Frame
from parallax.correlate.logit import Estimate, LogitFit, fit_logit
from parallax.correlate.normal import (
    against_typical,
    consensus,
    levels_at_good,
    normal_levels,
    pooled_slopes,
    reference,
    typical_load,
)
from parallax.correlate.settings import TAILS, Settings
from parallax.numbers import Interval

__all__ = ["Models", "SubjectEffect", "delivery_columns", "distinct_rows", "fit_models",
           "good_delivery", "subject_effects"]


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
    # The delivery part split by what was delivered (log-odds each adds; the parts sum to the
    # delivery part): "load" (its slope deviation included), "error", "fail:<dependency>",
    # "vital:<METRIC>" — largest first. Which delivery problem a delivery verdict is about.
    drivers: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Models:
    factor: str
    a: LogitFit
    b: LogitFit
    design_b: Design
    frame: Frame  # the rows the models were fitted on
    draws: np.ndarray  # model B parameter draws
    p: np.ndarray  # model B predictions, actual delivery
    design_a: Design
    a_draws: np.ndarray  # model A parameter draws

    def excess_draws(self, cf: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Per parameter draw of model B: the sum over ``rows`` of the predicted poor rate as
        delivered minus as under ``cf`` (the design in model B's layout with a counterfactual
        delivery). A row the counterfactual leaves as it was adds exactly nothing, so only the
        changed rows are predicted: the (draws x rows) predictions are correlate's largest
        arrays. Counterfactual rows often coincide (6,926 distinct of 8,975 changed rows in one
        run on the 20 k-session world) and are predicted once each; the rows as delivered
        hardly do (8,903 of 8,975), so finding their duplicates would cost more than it saves."""
        X = self.design_b.X
        changed = rows & np.any(cf != X, axis=1)
        delivered = self.b.summed_predict_draws(X[changed], self.draws)
        return delivered - _summed_draws(self.b, cf[changed], self.draws)


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
        fit_b = pooled_slopes(frame, b)
    if b is None or fit_b is None:
        b = build_design(factor, values, controls, delivery=delivery_columns(frame),
                         min_level=settings.min_level)
        fit_b = fit_logit(frame.y, b.X, b.names, frame.cluster)
    rng = np.random.default_rng(settings.seed)
    draws = fit_b.draws(settings.draws, rng)
    return Models(factor, fit_a, fit_b, b, frame, draws, fit_b.predict(b.X), a,
                  fit_a.draws(settings.draws, rng))


def _summed_draws(fit: LogitFit, X: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Per draw, the predictions summed over the rows of ``X``: each distinct row predicted
    once and weighted by how often it occurs."""
    if len(X) == 0:
        return np.zeros(len(draws))
    distinct, counts = distinct_rows(X)
    return fit.summed_predict_draws(distinct, draws, counts.astype(float))


def distinct_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(X, axis=0, return_counts=True)`` of a 2-D float matrix: the same rows in
    the same (lexicographic) order with the same counts, so the sums above are the same to the
    bit. ``np.unique`` sorts the rows as records, compared field by field; ``lexsort`` on the
    columns takes half the time (its 20 calls took 0.11 s of correlate at 20 k sessions, load
    ≈ 7). A matrix holding a NaN keeps ``np.unique`` (where records with a NaN sort is its
    own rule)."""
    if X.ndim != 2 or not np.isfinite(X).all():
        return np.unique(X, axis=0, return_counts=True)
    ordered = X[np.lexsort(X.T[::-1])]
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    starts = np.flatnonzero(first)
    return ordered[starts], np.diff(np.append(starts, len(ordered)))


def subject_effects(m: Models, settings: Settings, *, relative: bool = False,
                    healthy: set[str] | None = None) -> list[SubjectEffect]:
    """Per level of the subject factor: design part, delivery part, share, extra poor.

    Routes (``relative=False``) are measured against the site's normal. The design part: the
    unweighted median level at good delivery of the routes with at least ``min_responses``
    responses that lie within ``normal_band`` standard errors of it (neither a minority of
    troubled routes nor the routes that attract many answers can move it). The raw excess,
    as customers report it (model A): the median level of the
    ``healthy`` routes among those (delivery within thresholds), when there are two or more —
    a route is not unhappy merely for being less troubled than other troubled routes.
    Segments (``relative=True``) are measured against the rest of the site: the other
    levels' weighted mean, and the delivery the rest actually got — a segment is "delivery"
    when it is served worse than the others, not merely when the whole site is slow.
    """
    frame, b = m.frame, m.design_b
    counts = Counter(b.subject.tolist())
    levels = [lv for lv in b.levels if m.b.index(f"{m.factor}={lv}") is not None]
    cols = cast(list[int], [m.b.index(f"{m.factor}={lv}") for lv in levels])  # all found
    weights = np.array([counts[lv] for lv in levels], dtype=float)
    a_cols = [m.a.index(f"{m.factor}={lv}") for lv in levels]
    keep = list(m.b.keep)
    X = b.X[:, keep]
    eta = X @ m.b.params
    deliv = [i for i, name in enumerate(m.b.names) if name in ("log_load", "error")
             or name.startswith(("fail:", "slope:", "vital:"))]
    served = X[:, deliv] @ m.b.params[deliv]
    # A mean over rows of linear predictions, per draw, is the draws times the rows' mean
    # design row: (draws x columns) work instead of (draws x responses).
    served_draws = m.draws[:, deliv]
    at_good, at_good_draws = levels_at_good(m, levels, cols, settings)
    typical = typical_load(m, healthy, settings)
    normal_routes = normal_levels(levels, weights, settings)
    if not relative:  # segments are measured against the others' mean, not a normal
        normal_routes = consensus(at_good, at_good_draws, normal_routes, settings.normal_band)
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
        ref, ref_draws = reference(at_good, at_good_draws, w, relative, normal_routes)
        good = good_delivery(b, frame, settings, rows)
        eta_good = good[:, keep] @ m.b.params
        kept = [m.b.names[j] for j in deliv]
        if relative:  # delivery worse than the rest of the site got
            by_column = (X[rows][:, deliv].mean(axis=0)
                         - X[others][:, deliv].mean(axis=0)) * m.b.params[deliv]
        else:
            by_column = ((X[rows][:, deliv] - good[:, keep][rows][:, deliv])
                         .mean(axis=0) * m.b.params[deliv])
        drivers = _drivers(kept, by_column)
        if relative:  # delivery worse than the rest of the site got
            part = float(served[rows].mean() - served[others].mean())
            part_draws = served_draws @ (X[rows][:, deliv].mean(axis=0)
                                         - X[others][:, deliv].mean(axis=0))
            # The gap between two sample means is itself uncertain, not only the slopes.
            noise = np.sqrt(served[rows].var() / rows.sum() + served[others].var() / others.sum())
            part_draws = part_draws + np.random.default_rng(settings.seed + i).normal(
                0.0, noise, len(part_draws))
            normal = float(frame.y[others].mean())
        else:  # delivery worse than good delivery
            part = float((eta - eta_good)[rows].mean())
            part_draws = m.draws @ (X[rows] - good[rows][:, keep]).mean(axis=0)
        design = float(at_good[i] - ref)
        design_draws = at_good_draws[:, i] - ref_draws
        raw = Estimate.from_draws(part + design, part_draws + design_draws)
        if not relative:  # as customers report it: against the site's typical delivery
            raw, normal = against_typical(m, rows, part + design, part_draws + design_draws,
                                           typical, settings)
        share = None
        if part + max(design, 0.0) > 0 and raw.estimate > 0:
            total = part_draws + np.maximum(design_draws, 0.0)
            ok = total > 0
            lo, hi = (np.quantile(np.clip(part_draws[ok] / total[ok], 0, 1), TAILS)
                      if ok.any() else (np.nan, np.nan))
            share = Interval(min(1.0, max(0.0, part / (part + max(design, 0.0)))), float(lo),
                             float(hi))
        route_only = None
        if a_col is not None and None not in a_cols:
            found = cast(list[int], a_cols)
            a_ref, a_ref_draws = reference(m.a.params[found], m.a_draws[:, found], w,
                                           relative, normal_levels(levels, weights, settings))
            route_only = Estimate.from_draws(float(m.a.params[a_col] - a_ref),
                                             m.a_draws[:, a_col] - a_ref_draws)
        out.append(SubjectEffect(
            m.factor, level, n, int(frame.y[rows].sum()), float(frame.y[rows].mean()),
            normal, raw, Estimate.from_draws(design, design_draws), route_only,
            _interval(part, part_draws), share, _extra(m, good, rows), m.b.method, drivers))
    return out


def _drivers(names: list[str], by_column: np.ndarray) -> tuple[tuple[str, float], ...]:
    """Per-column contributions grouped by what was delivered, largest first."""
    groups: dict[str, float] = {}
    for name, value in zip(names, by_column.tolist(), strict=True):
        group = ("load" if name == "log_load" or name.startswith("slope:") else name)
        groups[group] = groups.get(group, 0.0) + float(value)
    return tuple(sorted(groups.items(), key=lambda kv: -kv[1]))


def _interval(point: float, draws: np.ndarray) -> Interval:
    return Interval(point, *np.quantile(draws, TAILS).tolist())


def _extra(m: Models, cf: np.ndarray, rows: np.ndarray) -> Interval:
    """Poor responses among ``rows`` above what the counterfactual design predicts."""
    point = float((m.p[rows] - m.b.predict(cf[rows])).sum())
    sims = m.excess_draws(cf, rows)
    lo, hi = np.quantile(sims, TAILS)
    return Interval(point, float(lo), float(hi))
