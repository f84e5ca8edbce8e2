"""The verdict rule, in one place (docs/method.md states it for readers).

Route or segment; "significant" means a Benjamini–Hochberg q-value below α within its family
(routes, segments and dependencies are separate families):
  fewer than min_responses          → silent if delivery breaches a threshold, else inconclusive
  design remains (adjusted effect   → mixed if delivery also harms (both parts significant on
  > 0, significant)                   their own intervals), else design (a route whose pages
                                      are mostly slow: q below design_alpha_slow)
  delivery harms (significant, its → delivery (no remaining excess can be established; the
  interval above 0; for routes at     explained share is reported with its interval)
  least material_rate of responses)
  excess significant, neither part  → inconclusive
  delivery breaches a threshold     → silent (degraded, customers not unhappier)
  could have seen an excess (the    → ok
  raw odds ratio's upper bound is
  below the detectable odds ratio)
  otherwise                         → inconclusive
Dependency: too few responses → inconclusive; extra poor responses significant, interval above
0 and at least material_rate of its callers' responses → delivery; degraded → silent; else ok.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import special

from parallax.correlate.findings import Verdict
from parallax.correlate.frame import Delivery
from parallax.correlate.logit import Estimate
from parallax.correlate.settings import Settings

__all__ = ["bh", "bh_tested", "degraded", "dependency_verdict", "design_remains",
           "responses_needed", "subject_verdict", "unhappier", "vital_text"]


def bh(p_values: list[float | None]) -> list[float | None]:
    """Benjamini–Hochberg q-values; None (not tested) stays None."""
    idx = [i for i, p in enumerate(p_values) if p is not None and not math.isnan(p)]
    out: list[float | None] = [None] * len(p_values)
    if idx:
        q = _fdr_bh(np.asarray([p_values[i] for i in idx], dtype=float))
        for i, v in zip(idx, q, strict=True):
            out[i] = float(v)
    return out


def _fdr_bh(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values: statsmodels' multipletests(method="fdr_bh") in
    its own operations (correlate does not import statsmodels; tests/correlate/test_verdicts.py
    holds the two together)."""
    order = np.argsort(p)
    ranked = np.take(p, order)
    factor = np.arange(1, len(ranked) + 1) / float(len(ranked))
    q = np.minimum.accumulate((ranked / factor)[::-1])[::-1]
    q[q > 1] = 1
    out = np.empty_like(q)
    out[order] = q
    return out


def _normal_power(effect: float, nobs1: float, alpha: float, ratio: float) -> float:
    """Power of a two-sided two-sample z-test: statsmodels' NormalIndPower().power(effect,
    nobs1, alpha, ratio) in its own operations (scipy.stats.norm's isf, sf, ppf and cdf are
    these special functions)."""
    nobs = 1.0 / (1.0 / nobs1 + 1.0 / (nobs1 * ratio)) if ratio > 0 else nobs1
    half = alpha / 2.0
    shift = effect * np.sqrt(nobs)
    power = special.ndtr(-(-special.ndtri(half) - shift))
    power += special.ndtr(special.ndtri(half) - shift)
    return float(power)


def bh_tested(p_values: Sequence[float | None], ns: list[int], s: Settings,
              ) -> list[float | None]:
    """q-values over the family of subjects a verdict can rest on: those with at least
    min_responses responses. Below that the verdict is silent or inconclusive whatever the
    p-values say, so counting those subjects would only raise every other subject's q-value;
    their q is None (not tested)."""
    return bh([p if n >= s.min_responses else None for p, n in zip(p_values, ns, strict=True)])


def design_remains(q_adjusted: float | None, harm: bool, slow: bool, s: Settings) -> bool:
    """Is the design part established? At alpha — except for a design-only verdict on a route
    whose pages are mostly slow (``slow``: p75 page load above its threshold): its level is read
    through its load slope, having few pages at good delivery, and blaming design alone while
    delivery is visibly degraded needs the stronger ``design_alpha_slow``. With harm
    established too the verdict names both (mixed), at alpha."""
    if q_adjusted is None:
        return False
    return q_adjusted < (s.design_alpha_slow if slow and not harm else s.alpha)


def degraded(d: Delivery | None, s: Settings) -> list[str]:
    """The thresholds this subject's delivery breaches, in words ([] when none)."""
    if d is None:
        return []
    out = []
    if d.kind == "route":
        if d.p75_ms is not None and d.p75_ms > s.page_load_p75_ms:
            out.append(f"page load p75 {d.p75_ms / 1000:.1f} s > {s.page_load_p75_ms / 1000:.1f} s")
        if d.error_rate is not None and d.error_rate > s.error_rate:
            out.append(f"error rate {d.error_rate:.1%} > {s.error_rate:.0%}")
        if d.dependency_failure_rate and d.dependency_failure_rate > s.dependency_failure_rate:
            out.append(f"a dependency failed on {d.dependency_failure_rate:.1%} of page loads "
                       f"> {s.dependency_failure_rate:.0%}")
        # Core Web Vitals (issue 22): a route passes when the p75 of each vital measured on it
        # is within Google's "good" threshold (web_vital_thresholds), as the page load does.
        out += [f"{metric} p75 {vital_text(p75, unit)} > {vital_text(good, unit)}"
                for metric, p75, good, unit in d.vitals if p75 > good]
    else:
        if d.dependency_failure_rate and d.dependency_failure_rate > s.dependency_failure_rate:
            out.append(f"failed on {d.dependency_failure_rate:.1%} of page loads "
                       f"> {s.dependency_failure_rate:.0%}")
        if d.p75_ms is not None and d.p75_ms > s.dependency_p75_ms:
            out.append(f"call p75 {d.p75_ms:.0f} ms > {s.dependency_p75_ms:.0f} ms")
    return out


def vital_text(value: float, unit: str) -> str:
    """A vital as its thresholds are written: CLS unitless, timings in ms (LCP in s)."""
    if unit != "ms":
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def responses_needed(n: int, poor_rate_rest: float, n_rest: int, s: Settings) -> int | None:
    """Responses (in total) a subject needs to detect the detectable odds ratio."""
    p0 = min(max(poor_rate_rest, 0.01), 0.99)
    odds = p0 / (1 - p0) * s.detectable_odds_ratio
    p1 = odds / (1 + odds)
    if n_rest <= 0:
        return None
    effect = 2 * (np.arcsin(np.sqrt(p1)) - np.arcsin(np.sqrt(p0)))  # Cohen's h, as statsmodels
    # nobs1 is the subject's responses; the rest of the site keeps its size.
    best = None
    for total in (10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000,
                  5000, 10000, 20000):
        achieved = _normal_power(effect, total, s.alpha, n_rest / total)
        if achieved >= s.power:
            best = total
            break
    return best


def unhappier(raw: Estimate, poor_rate: float, normal_rate: float, s: Settings) -> bool:
    """Are a subject's customers unhappier than the site's normal? The raw excess is above 0
    (one-sided test at alpha) and the poor rate above the normal rate it is cited against."""
    return (raw.estimate > 0 and raw.p_value / 2 < s.alpha and poor_rate > normal_rate)


def subject_verdict(n: int, excess: bool, remains: bool, harm: bool, powered: bool,
                    breaches: list[str], s: Settings, *, unexplained: bool | None = None,
                    ) -> Verdict:
    """``excess``: customers are unhappier (the check a delivery verdict needs);
    ``unexplained``: that excess is also a discovery on its own (q below alpha) — only then is
    an excess neither part explains reported as inconclusive (default: ``excess``)."""
    if n < s.min_responses:
        return "silent" if breaches else "inconclusive"
    if remains:
        return "mixed" if harm else "design"
    if excess and harm:
        return "delivery"
    if excess if unexplained is None else unexplained:
        return "inconclusive"
    if breaches:
        return "silent"
    return "ok" if powered else "inconclusive"


def dependency_verdict(n: int, harmful: bool, breaches: list[str], s: Settings) -> Verdict:
    if harmful and n >= s.min_responses:
        return "delivery"
    return "silent" if breaches else "ok"
