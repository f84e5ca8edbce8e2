"""Intervals for call drivers: a per-session contact rate, the excess of one group's rate over
another's, and that excess applied to a count of sessions.

The outcome of a session is a count (a first contact and its repeats), so a group's mean gets
a quasi-Poisson score interval: the Wilson construction with the variance φ·μ, φ the group's
own dispersion (variance / mean). Where no session of the group made more than one contact
the outcome is yes/no and the interval is Wilson's own (variance μ(1 − μ)). The difference
of two means combines the two score intervals as Newcombe's hybrid method does for
proportions (MOVER: "method of variance estimates recovery"), which keeps its coverage with
few events where a Wald interval fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from parallax.quality.sampling import wilson

__all__ = ["CountMean", "excess_interval", "mean_interval", "product_interval", "z_value"]


def z_value(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


@dataclass(frozen=True)
class CountMean:
    """A group's outcome as sums: n units, total of y, total of y²."""

    n: int
    total: float
    squares: float

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def dispersion(self) -> float:
        """Variance over mean; 1 (Poisson) when there is no event or no variation to read it
        from, so an empty or uniform group is not taken as exactly known."""
        if self.n < 2 or self.total <= 0:
            return 1.0
        var = (self.squares - self.total ** 2 / self.n) / (self.n - 1)
        return var / self.mean if var > 0 else 1.0


def mean_interval(g: CountMean, confidence: float = 0.95) -> tuple[float, float] | None:
    """Score interval for the mean count: the μ with (ȳ − μ)² ≤ z²·φ·μ / n (Wilson's for a
    yes/no outcome)."""
    if g.n <= 0:
        return None
    if g.squares == g.total:  # every y is 0 or 1 (y² = y): a proportion
        return wilson(round(g.total), g.n, confidence)
    c = z_value(confidence) ** 2 * g.dispersion / g.n
    m = g.mean
    root = math.sqrt(c * m + c * c / 4)
    return (max(0.0, m + c / 2 - root), m + c / 2 + root)


def excess_interval(exposed: CountMean, clean: CountMean,
                    confidence: float = 0.95) -> tuple[float, float] | None:
    """Interval of mean(exposed) − mean(clean) from the two score intervals (Newcombe's
    hybrid construction)."""
    i1, i0 = mean_interval(exposed, confidence), mean_interval(clean, confidence)
    if i1 is None or i0 is None:
        return None
    m1, m0 = exposed.mean, clean.mean
    d = m1 - m0
    return (d - math.hypot(m1 - i1[0], i0[1] - m0), d + math.hypot(i1[1] - m1, m0 - i0[0]))


def product_interval(rate: float, rate_ci: tuple[float, float], sessions: int,
                     unlinked: int, dispersion: float,
                     confidence: float = 0.95) -> tuple[float, float]:
    """Interval of rate × sessions: the rate's own interval scaled to the sessions, combined
    with the chance in how many contacts the ``unlinked`` sessions (whose contacts nobody
    observed) made — a count with mean rate × unlinked and variance φ times that."""
    z = z_value(confidence)
    count_sd = z * math.sqrt(max(rate, 0.0) * unlinked * dispersion)
    est = rate * sessions
    return (est - math.hypot(sessions * (rate - rate_ci[0]), count_sd),
            est + math.hypot(sessions * (rate_ci[1] - rate), count_sd))
