"""The site's normal and a route's level: the partially pooled per-route load slopes of model
B, each route's level at good delivery, the median route that is the site's normal, and a
route's excess against the normal route at the site's typical delivery (docs/method.md §2–3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit

from parallax.correlate.design import OTHER, Design, good_delivery
from parallax.correlate.frame import UNKNOWN, Frame
from parallax.correlate.logit import Estimate, LogitFit, fit_logit
from parallax.correlate.settings import Settings

if TYPE_CHECKING:
    from parallax.correlate.attribution import Models

__all__ = ["against_typical", "consensus", "levels_at_good", "normal_levels", "pooled_slopes",
           "reference", "typical_load"]

# The prior sd of a route's slope deviation is at least this (log-odds per ln second): a few
# routes do not show how much routes differ, and a route whose pages are all slow is read at
# good delivery only through some slope — its design part must carry that uncertainty.
MIN_SLOPE_SD = 0.2


def pooled_slopes(frame: Frame, b: Design) -> LogitFit | None:
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


def _good_load(m: Models, settings: Settings) -> np.ndarray:
    return np.minimum(m.frame.log_load, np.log(settings.good_load_ms / 1000.0))


def typical_load(m: Models, healthy: set[str] | None, settings: Settings) -> float:
    """The site's typical delivery: the mean good-delivery log load of the responses on routes
    with healthy delivery (all responses when no route is healthy)."""
    good = _good_load(m, settings)
    on = np.isin(m.design_b.subject, list(healthy or ()))
    return float(good[on].mean() if on.any() else good.mean())


def against_typical(m: Models, rows: np.ndarray, point: float, draws: np.ndarray,
                     typical: float, settings: Settings) -> tuple[Estimate, float]:
    """A route's excess as customers report it — its customers as delivered against the site's
    normal route at the site's typical delivery — and that normal's poor rate. The parts add up
    to it: design part + delivery part + (its good-delivery load − the typical load) through the
    common slope, the share of its slowness still within "good" (``point``/``draws`` hold the
    first two)."""
    j = m.b.index("log_load")
    gap = float(_good_load(m, settings)[rows].mean() - typical) if j is not None else 0.0
    slope = m.b.params[j] if j is not None else 0.0
    raw = Estimate.from_draws(point + slope * gap,
                              draws + (m.draws[:, j] * gap if j is not None else 0.0))
    # the same customers, each shifted by the route's excess: their poor rate on the normal route
    eta = m.design_b.X[:, list(m.b.keep)] @ m.b.params
    return raw, float(expit(eta[rows] - raw.estimate).mean())


def levels_at_good(m: Models, levels: list[str], cols: list[int], settings: Settings,
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


def normal_levels(levels: list[str], counts: np.ndarray, settings: Settings) -> np.ndarray:
    """Which levels make the site's normal: those with ``min_responses`` responses (all known
    levels when fewer than three have that many). Never the pooled rare ones."""
    known = np.array([lv not in (OTHER, UNKNOWN) for lv in levels])
    enough = known & (counts >= settings.min_responses)
    return enough if enough.sum() >= 3 else (known if known.any() else np.ones_like(known))


def consensus(point: np.ndarray, draws: np.ndarray, candidates: np.ndarray, band: float,
              ) -> np.ndarray:
    """The routes that make the site's normal: the ``candidates`` whose level lies within
    ``band`` of its own standard errors of the median of those kept, iterated until the set
    settles (at least three kept). A plain median of every route sits at the edge of the
    routes that share the normal level, pulled toward the design (or silent) routes beside
    them by as much as the noisiest of those routes — every other route then looks better or
    worse than it is. A route clearly apart from the rest is not part of their normal; one
    within its noise of it stays, so the band trims outliers, not noise."""
    if band <= 0:
        return candidates
    sd = draws.std(axis=0)
    kept = candidates.copy()
    for _ in range(len(point)):
        new = candidates & (np.abs(point - np.median(point[kept])) <= band * sd)
        if new.sum() < 3 or (new == kept).all():
            break
        kept = new
    return kept


def reference(point: np.ndarray, draws: np.ndarray, weights: np.ndarray, mean: bool,
               normal: np.ndarray) -> tuple[float, np.ndarray]:
    """The reference level, per draw: the others' weighted mean (segments), or the unweighted
    median of the ``normal`` route levels (routes)."""
    if mean:
        w = weights / weights.sum()
        return float(point @ w), draws @ w
    return float(np.median(point[normal])), np.median(draws[:, normal], axis=1)
