"""The findings table names the annotations attached to each finding, under the table."""

from __future__ import annotations

from parallax.console import annotation_lines, print_findings


def _doc(kind: str, subject: str, notes: list[dict] | None = None) -> dict:
    return {"subject_kind": kind, "subject": subject, "verdict": "delivery", "n_responses": 40,
            "poor_rate": 0.4, "baseline_poor_rate": 0.2, "delivered": {"p75_ms": 3100.0},
            "impact": {}, "evidence": f"{subject} is slow", "annotations": notes or []}


NOTES = [{"id": "psp-outage", "kind": "incident"},
         {"id": "checkout-redesign", "kind": "design-change"}]


def test_annotation_lines_per_annotated_finding() -> None:
    docs = [_doc("route", "/checkout", NOTES), _doc("route", "/search"),
            _doc("dependency", "inventory-db", [{"id": "db-crash", "kind": "incident"}])]
    assert annotation_lines(docs) == [
        "/checkout: psp-outage (incident), checkout-redesign (design-change)",
        "inventory-db: db-crash (incident)"]
    assert annotation_lines([_doc("route", "/search"), {"subject": "x"}]) == []


def test_print_findings_shows_them_under_the_table(capsys) -> None:
    print_findings([_doc("route", "/checkout", NOTES), _doc("route", "/search")])
    out = capsys.readouterr().out
    table_end = out.index("└")
    line = out.index("annotations: /checkout: psp-outage (incident)")
    assert table_end < line < out.index("• [delivery] /checkout is slow")
    assert "/search:" not in out


def test_print_findings_without_annotations_has_no_line(capsys) -> None:
    print_findings([_doc("route", "/search")], evidence=False)
    assert "annotations:" not in capsys.readouterr().out
