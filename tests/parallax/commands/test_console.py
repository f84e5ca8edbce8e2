"""Long work shows its steps on a terminal, each with its time, and nothing when piped."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from parallax.cli import run
from parallax.commands.console import Steps


def test_steps_on_a_terminal_say_what_ran_and_how_long() -> None:
    out = io.StringIO()
    with Steps(Console(file=out, force_terminal=True, width=100)) as steps:
        steps.step("correlate: join model")
        steps.step("writing report.html")
    shown = out.getvalue()
    assert "✓ correlate: join model (" in shown and "✓ writing report.html (" in shown
    assert shown.index("correlate") < shown.index("writing")


def test_a_failing_step_is_marked() -> None:
    out = io.StringIO()
    with pytest.raises(RuntimeError), Steps(Console(file=out, force_terminal=True)) as steps:
        steps.step("fitting")
        raise RuntimeError("boom")
    assert "✗ fitting (" in out.getvalue()


def test_piped_runs_stay_quiet(demo_db, tmp_path, capsys) -> None:
    db = tmp_path / "copy.duckdb"
    db.write_bytes(demo_db.read_bytes())
    assert run(["--db", str(db), "review", "--out", str(tmp_path / "r.html")]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "✓" not in captured.out and captured.out.startswith("review:")
