"""The findings table: 100 columns without cutting a subject or a verdict, numbers for people,
``--wide``/``--columns``, the annotations and the plain sentences under it."""

from __future__ import annotations

import pytest

from parallax.commands import console
from parallax.commands.findings_table import COMPACT, annotation_lines, pick_columns, print_findings
from parallax.correlate.findings import Finding
from parallax.errors import ConfigError


def _doc(kind: str, subject: str, notes: list[dict] | None = None, **extra) -> Finding:
    """A finding as stored (the JSON contract), read back the way `findings` reads it."""
    return Finding.from_json({
        "subject_kind": kind, "subject": subject, "verdict": "delivery", "n_responses": 40,
        "poor_rate": 0.4, "baseline_poor_rate": 0.2, "delivered": {"p75_ms": 3100.0},
        "impact": {}, "evidence": f"{subject} is slow", "annotations": notes or [], **extra})


NOTES = [{"id": "psp-outage", "kind": "incident"},
         {"id": "checkout-redesign", "kind": "design-change"}]


def test_annotation_lines_per_annotated_finding() -> None:
    docs = [_doc("route", "/checkout", NOTES), _doc("route", "/search"),
            _doc("dependency", "inventory-db", [{"id": "db-crash", "kind": "incident"}])]
    assert annotation_lines(docs) == [
        "/checkout: psp-outage (incident), checkout-redesign (design-change)",
        "inventory-db: db-crash (incident)"]
    assert annotation_lines([_doc("route", "/search"), _doc("segment", "mobile")]) == []


def test_print_findings_shows_them_under_the_table(capsys) -> None:
    print_findings([_doc("route", "/checkout", NOTES), _doc("route", "/search")])
    out = capsys.readouterr().out
    row = out.index("/search ")
    line = out.index("annotations: /checkout: psp-outage (incident)")
    assert row < line < out.index("• [delivery] /checkout is slow")
    assert "/search:" not in out


def test_print_findings_without_annotations_has_no_line(capsys) -> None:
    print_findings([_doc("route", "/search")], evidence=False)
    assert "annotations:" not in capsys.readouterr().out


LONG = [
    _doc("route", "/account/orders/{id}/returns", verdict="inconclusive", n_responses=12_345,
         impact={"extra_poor_responses": {"estimate": -0.004, "ci_low": -1.5, "ci_high": 1.2},
                 "lost_conversions": {"estimate": 1234.56, "ci_low": 1000.0, "ci_high": 1500}},
         q_value=0.00002, odds_ratio_adjusted={"estimate": 16.56, "ci_low": 7.5,
                                               "ci_high": 36.45}),
    _doc("dependency", "payments.example-psp.com", verdict="delivery", n_responses=115),
]


def test_compact_fits_100_columns_and_never_cuts_subject_or_verdict(screen) -> None:
    print_findings(LONG, evidence=False)
    lines = screen.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 100
    text = screen.getvalue()
    for subject in ("/account/orders/{id}/returns", "payments.example-psp.com"):
        assert subject in text
    assert "inconclusive" in text and "…" not in text
    assert "12,345" in text and "1,234.6" in text  # thousands separators
    assert " -0.0" not in text and "0.0" in text  # -0 is 0
    assert text.index("routes") < text.index("dependencies")


def test_wide_has_intervals_odds_and_q_for_people(screen) -> None:
    console._out.width = 250  # --wide is for a wide terminal
    print_findings(LONG, evidence=False, columns=pick_columns(None, wide=True))
    text = screen.getvalue()
    assert "< 0.001" in text and "16.56 (7.50 to 36.45)" in text
    assert "1,234.6 (1,000.0 to 1,500.0)" in text and "3,100 ms" in text


def test_columns_are_chosen_by_name_with_a_suggestion_for_a_typo() -> None:
    assert pick_columns(None, wide=False) == COMPACT
    assert pick_columns("q, p75", wide=False) == ("subject", "verdict", "q", "p75")
    with pytest.raises(ConfigError, match=r"--columns 'p57': no such column \(did you mean "
                                          r"p75\?\)"):
        pick_columns("p57", wide=False)
