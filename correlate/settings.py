"""Every threshold the attribution, the verdict rule and the incident impact use, with its
default and why.

Set them in parallax.toml under ``[correlate]``; ``parallax findings`` stores them with each run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from parallax.config import section_settings
from parallax.errors import ConfigError

__all__ = ["LEVEL", "SELECTION_FILES", "TAILS", "Z", "SelectionSettings", "Settings",
           "offer_params"]

# Every interval Parallax reports is a 95 % one: percentile intervals of parameter draws cut
# at TAILS, normal-approximation ones at ± Z standard errors (the standard normal's 97.5 %
# point to seven digits, as the figures have always been computed).
LEVEL = 0.95
TAILS = ((1 - LEVEL) / 2, (1 + LEVEL) / 2)
Z = 1.959964


@dataclass(frozen=True)
class Settings:
    min_responses: int = 30  # fewer responses on a subject: inconclusive, with what is needed
    min_level: int = 5  # rarer subject levels are pooled as "(other)" when fitting
    alpha: float = 0.05  # false discovery rate (Benjamini–Hochberg) for "significant"
    # A design-only verdict on a route whose pages are mostly slow reads its level through its
    # load slope (few of its pages loaded well): blaming design there needs stronger evidence.
    design_alpha_slow: float = 0.01
    # The site's normal leaves out routes whose level at good delivery lies more than this many
    # of their own standard errors from the others' median (0: every route with enough answers)
    normal_band: float = 3.0
    draws: int = 1000  # parameter draws for intervals of shares and impacts
    seed: int = 0  # the draws' seed: the same data gives the same findings
    # "Good delivery", the counterfactual impacts are measured against:
    good_load_ms: float = 2500.0  # Core Web Vitals: LCP "good" is at most 2.5 s
    dependency_good_ms: float = 300.0  # a dependency call's budget (its own median if lower)
    # "Degraded delivery" (the silent verdict), checked on the delivered figures:
    page_load_p75_ms: float = 2500.0  # Core Web Vitals style: p75 of page load vs 2.5 s
    error_rate: float = 0.01  # share of page loads answered with an error
    dependency_failure_rate: float = 0.02  # share of page loads / calls with a failed call
    dependency_p75_ms: float = 300.0  # a dependency slower than this at p75 is degraded
    # Delivery harm must be material, not merely significant on many responses:
    material_rate: float = 0.02  # extra poor responses per response of the route / callers
    # Power: what an inconclusive subject would need to show
    detectable_odds_ratio: float = 2.0
    power: float = 0.8
    # Incident impact (``parallax incident``): when its baseline and window can say anything
    incident_min_pre_bins: int = 24  # pre-period bins with page loads
    incident_min_pre_responses: int = 30  # answers on the affected routes before it
    incident_min_window_responses: int = 5  # answers during it
    incident_thin_window_responses: int = 20  # fewer: the interval is mostly who answered
    incident_min_pre_sessions: int = 50  # sessions on the routes before it, for conversions
    incident_thin_conversions: float = 5.0  # fewer expected during it: lost ones are rough
    incident_path_share: float = 0.9  # a route this share of converting sessions visited is on
    # the way to the conversion (an incident there counts for the conversion baseline)

    @classmethod
    def from_mapping(cls, data: Mapping, where: str = "[correlate]") -> Settings:
        out = section_settings(cls, data, where)
        if not (0 < out.alpha < 1 and 0 < out.power < 1 and 0 < out.design_alpha_slow < 1):
            raise ConfigError(f"{where}: alpha, design_alpha_slow and power must be between 0 "
                              "and 1")
        if out.normal_band < 0:
            raise ConfigError(f"{where}: normal_band must be >= 0")
        if out.min_responses < 1 or out.min_level < 1 or out.draws < 100:
            raise ConfigError(f"{where}: min_responses and min_level must be >= 1, draws >= 100")
        counts = ("incident_min_pre_bins", "incident_min_pre_responses",
                  "incident_min_window_responses", "incident_min_pre_sessions")
        if any(getattr(out, k) < 1 for k in counts) or out.incident_thin_conversions < 0:
            raise ConfigError(f"{where}: {', '.join(counts)} must be >= 1, "
                              "incident_thin_conversions >= 0")
        if out.incident_thin_window_responses < out.incident_min_window_responses:
            raise ConfigError(f"{where}: incident_thin_window_responses must be >= "
                              "incident_min_window_responses")
        if not 0 < out.incident_path_share <= 1:
            raise ConfigError(f"{where}: incident_path_share must be above 0 and at most 1")
        return out

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SelectionSettings:
    """``[selection]`` in parallax.toml."""

    # analytics event names that mean "the survey was shown" (GA4 custom events)
    offer_events: tuple[str, ...] = ("survey_impression", "survey_shown")
    grace_seconds: int = 60  # a response may be stored as begun this long before its offer
    trim: tuple[float, float] = (0.01, 0.99)  # weights clipped at these percentiles
    cap_load_s: float = 30.0  # load seconds beyond this count as this (a few very slow pages
    # would otherwise carry the slope)

    @classmethod
    def from_mapping(cls, data: Mapping, where: str = "[selection]") -> SelectionSettings:
        unknown = set(data) - {"offer_events", "grace_seconds", "trim", "cap_load_s"}
        if unknown:
            raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
        try:
            out = cls(
                tuple(str(e) for e in data.get("offer_events", cls.offer_events)),
                int(data.get("grace_seconds", cls.grace_seconds)),
                (float(data.get("trim", cls.trim)[0]), float(data.get("trim", cls.trim)[1])),
                float(data.get("cap_load_s", cls.cap_load_s)))
        except (TypeError, ValueError, IndexError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
        lo, hi = out.trim
        if not (0 <= lo < hi <= 1) or out.grace_seconds < 0 or out.cap_load_s <= 0:
            raise ConfigError(f"{where}: trim must be two percentiles 0 <= lo < hi <= 1, "
                              "grace_seconds >= 0, cap_load_s > 0")
        return out


# The files of models/selection, in the order they build on each other (offers.sql reads
# links.sql's table): both engines run them.
SELECTION_FILES = ("links.sql", "offers.sql")


def offer_params(sel: SelectionSettings, since, until) -> dict:
    """The parameters of models/selection's files, on either engine."""
    return {"offer_events": list(sel.offer_events), "grace_seconds": sel.grace_seconds,
            "since": since, "until": until}
