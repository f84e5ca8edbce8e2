"""The verdict rule (correlate/verdicts.py docstring), Benjamini–Hochberg, power, the
degraded-delivery thresholds, and the settings they read."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.multitest import multipletests

from parallax.correlate.frame import Delivery
from parallax.correlate.settings import Settings
from parallax.correlate.verdicts import (
    bh,
    bh_tested,
    degraded,
    dependency_verdict,
    design_remains,
    responses_needed,
    subject_verdict,
)
from parallax.errors import ConfigError

S = Settings()  # min_responses 30


def verdict(n: int = 30, *, harm: bool = False, remains: bool = False, excess: bool = False,
            powered: bool = True, breaches: tuple[str, ...] = (), s: Settings = S,
            unexplained: bool | None = None) -> str:
    return subject_verdict(n=n, excess=excess, remains=remains, harm=harm, powered=powered,
                           breaches=list(breaches), s=s, unexplained=unexplained)


@pytest.mark.parametrize(("kw", "expected"), [
    # too few responses: silent when delivery breaches a threshold, else inconclusive
    ({"n": 29, "harm": True, "remains": True, "excess": True}, "inconclusive"),
    ({"n": 29, "harm": True, "breaches": ("p75",)}, "silent"),
    ({"n": 29}, "inconclusive"),
    # design remains: mixed when the route's own delivery harms too (both intervals), whatever
    # share each part has
    ({"remains": True, "harm": True, "excess": True}, "mixed"),
    ({"remains": True, "harm": True}, "mixed"),
    ({"remains": True, "excess": True, "breaches": ("p75",)}, "design"),
    ({"remains": True}, "design"),
    # customers are unhappier and their route's own delivery explains it
    ({"excess": True, "harm": True, "breaches": ("p75",)}, "delivery"),
    ({"excess": True, "harm": True, "powered": False}, "delivery"),
    # modelled harm without an excess of the route's own is no delivery verdict: silent
    # when delivery breaches a threshold (customers are not unhappier)
    ({"harm": True, "breaches": ("p75",)}, "silent"),
    ({"harm": True}, "ok"),
    # a significant excess neither part explains
    ({"excess": True}, "inconclusive"),
    ({"excess": True, "breaches": ("p75",)}, "inconclusive"),
    # unhappier by the one-sided check, but no discovery after the false discovery rate:
    # nothing to report as unexplained
    ({"excess": True, "unexplained": False}, "ok"),
    ({"excess": True, "unexplained": False, "breaches": ("p75",)}, "silent"),
    ({"excess": True, "unexplained": False, "harm": True}, "delivery"),
    # no excess
    ({"breaches": ("p75",)}, "silent"),
    ({"breaches": ("p75",), "powered": False}, "silent"),
    ({}, "ok"),
    ({"powered": False}, "inconclusive"),
])
def test_subject_verdict_truth_table(kw, expected) -> None:
    assert verdict(**kw) == expected


@pytest.mark.parametrize(("args", "verdict"), [
    ((29, True, ["x"]), "silent"),  # harm needs min_responses; degraded: silent
    ((29, True, []), "ok"),
    ((0, False, ["x"]), "silent"),  # no customer link at all: judged on delivery alone
    ((0, False, []), "ok"),
    ((30, True, []), "delivery"),
    ((30, True, ["x"]), "delivery"),
    ((30, False, ["x"]), "silent"),
    ((30, False, []), "ok"),
])
def test_dependency_verdict_truth_table(args, verdict) -> None:
    assert dependency_verdict(*args, S) == verdict


def test_min_responses_is_a_setting() -> None:
    assert verdict(10, s=Settings(min_responses=10)) == "ok"
    assert verdict(10, s=Settings(min_responses=11)) == "inconclusive"
    assert dependency_verdict(10, True, [], Settings(min_responses=11)) == "ok"
    assert dependency_verdict(10, True, [], Settings(min_responses=10)) == "delivery"


def test_bh_matches_statsmodels_and_passes_untested_through() -> None:
    p = [0.001, 0.04, 0.03, 0.5, 0.012, 0.2]
    expected = multipletests(p, method="fdr_bh")[1]
    assert bh(p) == pytest.approx(expected.tolist(), abs=1e-12)
    mixed = bh([0.04, None, 0.001, math.nan, 0.03])
    assert mixed[1] is None and mixed[3] is None
    assert [mixed[0], mixed[2], mixed[4]] == pytest.approx(
        multipletests([0.04, 0.001, 0.03], method="fdr_bh")[1].tolist())
    assert bh([]) == [] and bh([None]) == [None]


def test_bh_and_power_are_statsmodels_to_the_last_bit() -> None:
    """Written out so correlate does not import statsmodels: the same operations, so the same
    q-values and power (exact equality, not closeness)."""
    import numpy as np
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    from parallax.correlate.verdicts import _fdr_bh, _normal_power

    rng = np.random.default_rng(7)
    for n in (1, 2, 7, 40):
        p = rng.random(n) ** 3
        p[: n // 3] = p[0]  # ties
        assert _fdr_bh(p).tolist() == multipletests(p, method="fdr_bh")[1].tolist()
    for p1, p0, nobs1, ratio in [(0.3, 0.2, 50, 3.0), (0.6, 0.45, 10, 400.0),
                                 (0.05, 0.02, 2000, 0.5), (0.3, 0.2, 75, 0.0)]:
        effect = proportion_effectsize(p1, p0)
        expected = NormalIndPower().power(effect, nobs1=nobs1, alpha=0.05, ratio=ratio)
        assert _normal_power(effect, nobs1, 0.05, ratio) == float(expected)


def test_responses_needed_falls_as_the_detectable_effect_grows() -> None:
    need = [responses_needed(10, 0.2, 2000, Settings(detectable_odds_ratio=r))
            for r in (1.5, 2.0, 3.0, 5.0)]
    assert all(isinstance(n, int) for n in need)
    assert need == sorted(need, reverse=True) and need[0] > need[-1]
    assert responses_needed(10, 0.2, 0, S) is None  # nothing to compare with
    assert responses_needed(10, 0.2, 50, Settings(detectable_odds_ratio=1.01)) is None


def _route(**kw) -> Delivery:
    base = dict(kind="route", subject="/cart", pages=100, sessions=50, calls=None, p50_ms=1000.0,
                p75_ms=2500.0, p95_ms=4000.0, error_rate=0.01, dependency_failure_rate=0.02,
                ok_median_ms=None, related=("db",), service="shop")
    return Delivery(**{**base, **kw})


def test_degraded_lists_each_breach_strictly_above_its_threshold() -> None:
    assert degraded(None, S) == [] and degraded(_route(), S) == []  # at thresholds: fine
    out = degraded(_route(p75_ms=3100.0, error_rate=0.05, dependency_failure_rate=0.03), S)
    assert out == ["page load p75 3.1 s > 2.5 s", "error rate 5.0% > 1%",
                   "a dependency failed on 3.0% of page loads > 2%"]
    assert degraded(_route(error_rate=0.05), Settings(error_rate=0.1)) == []
    dep = _route(kind="dependency", subject="db", p75_ms=450.0, error_rate=None,
                 dependency_failure_rate=0.1, calls=500)
    assert degraded(dep, S) == ["failed on 10.0% of page loads > 2%", "call p75 450 ms > 300 ms"]
    assert degraded(dep, Settings(dependency_p75_ms=500, dependency_failure_rate=0.2)) == []


def test_settings_from_mapping() -> None:
    s = Settings.from_mapping({"min_responses": "40", "alpha": 0.1, "good_load_ms": 3000})
    assert (s.min_responses, s.alpha, s.good_load_ms) == (40, 0.1, 3000.0)
    assert isinstance(s.min_responses, int) and s.as_dict()["alpha"] == 0.1
    assert Settings.from_mapping({}) == Settings()
    for bad, words in (({"min_response": 40}, "unknown setting"),
                       ({"alpha": 1.5}, "alpha, design_alpha_slow and power"),
                       ({"alpha": 0}, "alpha, design_alpha_slow and power"),
                       ({"design_alpha_slow": 0}, "between 0 and 1"),
                       ({"alpha": "often"}, "could not convert"),
                       ({"draws": 50}, "draws >= 100"),
                       ({"min_level": 0}, "min_level")):
        with pytest.raises(ConfigError, match=words):
            Settings.from_mapping(bad)


def test_families_hold_only_subjects_a_verdict_can_rest_on() -> None:
    s = Settings()
    ps, ns = [0.01, 0.02, 0.03, 0.9], [100, 200, 150, 12]
    q = bh_tested(ps, ns, s)
    assert q[3] is None  # 12 responses: silent or inconclusive whatever its p-value
    assert q[:3] == pytest.approx(bh(ps[:3]))
    assert q[0] < bh(ps)[0]  # the untested subject no longer raises the others' q-values
    assert bh_tested(ps, ns, Settings(min_responses=10)) == bh(ps)


def test_design_alone_on_a_slow_route_needs_stronger_evidence() -> None:
    s = Settings()
    assert design_remains(0.03, harm=False, slow=False, s=s)
    assert not design_remains(0.03, harm=False, slow=True, s=s)  # read through its slope
    assert design_remains(0.005, harm=False, slow=True, s=s)
    assert design_remains(0.03, harm=True, slow=True, s=s)  # mixed names both parts
    assert not design_remains(None, harm=True, slow=False, s=s)
    assert not design_remains(0.03, harm=False, slow=True, s=Settings(design_alpha_slow=0.02))
