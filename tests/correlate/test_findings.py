"""The findings JSON contract (docs/findings.md) pinned on the demo world.

``pinned/findings_demo.json`` is ``parallax findings --format json`` of the demo world (seed 7,
1,500 sessions; the ``demo_db`` fixture) as written by the code before ``Finding`` became a
typed contract (dict fields, positional construction). Fields are only ever added: a new one
means a regenerated file and a line in docs/findings.md. Regenerate with
``parallax --db D demo --sessions 1500 && parallax --db D findings --format json``.

The typed contract must read every pinned document and write it back byte for byte. A fresh
demo run must give the same documents in shape (keys, their order, JSON types) and in every
figure that does not come from a model fit: the fits' figures on a subject whose effect is
exactly zero (/account/orders, a Firth fit) differ between runs of the same code in the sign
of 0 and the bounds of its share interval, so the byte check runs on the stored documents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from parallax.cli import run
from parallax.correlate.findings import REVIEW_ORDER, VERDICTS, Finding
from parallax.terminal import json_bytes

PINNED = Path(__file__).parent / "pinned" / "findings_demo.json"
SQL = Path(__file__).parents[2] / "queries" / "findings.sql"


@pytest.fixture(scope="module")
def pinned() -> list[dict[str, Any]]:
    return orjson.loads(PINNED.read_bytes())


def test_the_typed_finding_writes_every_pinned_document_back_byte_for_byte(pinned) -> None:
    findings = [Finding.from_json(doc) for doc in pinned]
    assert json_bytes([f.to_json() for f in findings]).decode() + "\n" == PINNED.read_text()
    assert {f.verdict for f in findings} <= set(VERDICTS)
    routed = next(f for f in findings if f.impact.extra_poor_responses is not None)
    doc = next(d for d in pinned if d["subject"] == routed.subject
               and d["subject_kind"] == routed.subject_kind)
    assert routed.impact.extra_poor_responses.low == (
        doc["impact"]["extra_poor_responses"]["ci_low"])


def _shape(v: Any) -> Any:
    """Keys in order and JSON types, values left out."""
    if isinstance(v, dict):
        return [(k, _shape(x)) for k, x in v.items()]
    if isinstance(v, list):
        return [_shape(x) for x in v]
    return "number" if isinstance(v, int | float) and not isinstance(v, bool) else type(v)


def test_a_demo_run_gives_the_pinned_documents(demo_db, pinned, capsys) -> None:
    assert run(["--db", str(demo_db), "findings", "--format", "json"]) == 0
    docs = orjson.loads(capsys.readouterr().out)
    assert [(d["subject_kind"], d["subject"], d["verdict"]) for d in docs] == [
        (d["subject_kind"], d["subject"], d["verdict"]) for d in pinned]
    for got, want in zip(docs, pinned, strict=True):
        assert _shape(got) == _shape(want), want["subject"]
        for key in ("n_responses", "n_sessions", "poor_rate", "delivered", "link_coverage",
                    "annotations"):
            assert got[key] == want[key], (want["subject"], key)


def test_findings_sql_sorts_verdicts_in_the_review_order() -> None:
    text = SQL.read_text()
    order = [v for v in REVIEW_ORDER if v != "ok"]
    at = [text.index(f"'{v}'") for v in order]
    assert at == sorted(at) and set(REVIEW_ORDER) == set(VERDICTS)
