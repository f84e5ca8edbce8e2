"""Every generated sentence agrees with the numbers it cites: each templated claim is checked
against the finding's own values, on the demo world and on a shop of the world family."""

from __future__ import annotations

import re

import pytest

from parallax.correlate import Finding, Settings

CLAIMS = {
    # claim in the sentence → what must hold of the finding
    "are unhappier (": lambda f: f.poor_rate > f.baseline_poor_rate,
    "are no unhappier (": lambda f: f.poor_rate <= f.baseline_poor_rate,
    "remains at good delivery": lambda f: (f.odds_ratio_adjusted.estimate > 1.0
                                           and f.details["q_value_adjusted"] < 0.05),
    "its own delivery explains": lambda f: (f.details["delivery_part_log_odds"].estimate > 0
                                            and f.details["q_value_delivery"] < 0.05),
    "not measurably unhappier": lambda f: not _excess(f),
    "No measurable excess": lambda f: not _excess(f),
    "is degraded": lambda f: bool(f.delivered.get("breaches")),
    "delivery within thresholds": lambda f: not f.delivered.get("breaches"),
    "is healthy": lambda f: not f.delivered.get("breaches"),
    "no customer feedback links to it": lambda f: f.n_responses == 0,
    "Too little feedback": lambda f: f.n_responses < f.details["min_responses"],
    "does not survive the false discovery rate": lambda f: (
        _excess(f) and f.q_value >= Settings().alpha),
}
COSTS = re.compile(r"costs ≈ (-?[\d.]+) \((-?[\d.]+) to (-?[\d.]+)\) poor responses")
RATES = re.compile(r"(\d+)% of (\d+) responses were poor vs (\d+)%")


def _excess(f: Finding) -> bool:
    """The verdict rule's "unhappier" (correlate/verdicts.py), from the finding's own JSON."""
    return (f.odds_ratio_raw is not None and f.odds_ratio_raw.estimate > 1.0
            and f.p_value is not None and f.p_value / 2 < Settings().alpha
            and f.poor_rate > f.baseline_poor_rate)


def _check(findings: tuple[Finding, ...]) -> int:
    checked = 0
    for f in findings:
        for claim, holds in CLAIMS.items():
            if claim in f.evidence:
                assert holds(f), (claim, f.subject, f.evidence)
                checked += 1
        if m := COSTS.search(f.evidence):
            extra = f.impact.extra_poor_responses
            assert extra is not None and extra.low > 0, f.evidence
            assert float(m.group(1)) == pytest.approx(extra.estimate, abs=0.5)
            checked += 1
        if m := RATES.search(f.evidence):  # the cited figures are the finding's own
            assert int(m.group(2)) == f.n_responses
            assert int(m.group(1)) == round(f.poor_rate * 100)
            assert int(m.group(3)) == round(f.baseline_poor_rate * 100)
    return checked


def test_demo_sentences_agree_with_their_numbers(demo_run) -> None:
    assert _check(demo_run.run.findings) >= len(demo_run.run.findings)


def test_family_sentences_agree_with_their_numbers(family_run) -> None:
    assert _check(family_run.run.findings) >= len(family_run.run.findings)


def test_a_claim_that_contradicts_its_numbers_is_caught(demo_run) -> None:
    from dataclasses import replace

    f = next(f for f in demo_run.run.findings if "are unhappier (" in f.evidence)
    wrong = replace(f, baseline_poor_rate=f.poor_rate + 0.1)
    with pytest.raises(AssertionError):
        _check((wrong,))
