"""The findings JSON contract (docs/findings.md) pinned byte for byte on the demo world.

``pinned/findings_demo.json`` is ``parallax findings --format json`` of the demo world (seed 7,
1,500 sessions; the ``demo_db`` fixture) as the code before the typed ``Finding`` wrote it.
Keys, their order and every value must stay the same: fields are only ever added, with a
regenerated file and a line in docs/findings.md. Regenerate with
``parallax --db D demo --sessions 1500 && parallax --db D findings --format json``.
"""

from __future__ import annotations

from pathlib import Path

from parallax.cli import run

PINNED = Path(__file__).parent / "pinned" / "findings_demo.json"


def test_demo_findings_json_is_byte_identical_to_the_pinned_contract(demo_db, capsys) -> None:
    assert run(["--db", str(demo_db), "findings", "--format", "json"]) == 0
    out = capsys.readouterr().out
    pinned = PINNED.read_text()
    assert out.splitlines() == pinned.splitlines()  # a failing line shows where it parts
    assert out == pinned
