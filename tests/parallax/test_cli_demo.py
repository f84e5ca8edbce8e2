"""The demo's closing hints are commands as the user must type them here, and the demo keeps
out of a database that holds someone's own data."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from parallax.cli import run

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.usefixtures("isolated")


def test_hints_are_typed_as_in_a_checkout_and_run(tmp_path, capsys) -> None:
    db = tmp_path / "d.duckdb"
    assert run(["--db", str(db), "demo", "--out", "d", "--sessions", "200"]) == 0
    out = capsys.readouterr().out
    hints = out[out.index("\nnext:\n"):].splitlines()[2:]
    # A checkout has no `parallax` on the PATH, and this folder is outside it: uv needs both.
    prefix = f"uv run --project {ROOT} parallax --db {db} "
    assert all(h.startswith("  " + prefix) for h in hints), hints
    commands = [h.strip()[len(prefix):] for h in hints]
    assert commands[0] == "review" and "overview" in commands and "contacts drivers" in commands
    overview = next(h for h in hints if h.endswith(" overview"))
    done = subprocess.run(shlex.split(overview), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "feedback" in done.stdout


def test_a_database_with_other_data_is_refused_unless_forced(tmp_path, vendor, capsys) -> None:
    assert run(["ingest", "traces", str(vendor / "zipkin_v2_yelp.json")]) == 0
    capsys.readouterr()
    assert run(["demo", "--out", "d", "--sessions", "200"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "parallax.duckdb: holds 1 load(s) that are not the demo's" in err and "--force" in err
    assert not (tmp_path / "d").exists()  # nothing written
    assert run(["demo", "--out", "d", "--sessions", "200", "--force"]) == 0


def test_the_demo_runs_again_on_its_own_database(tmp_path, capsys) -> None:
    args = ["demo", "--out", "d", "--sessions", "200"]
    assert run(args) == 0
    assert run([*args, "--seed", "3", "--out", "other"]) == 0  # another demo world is welcome
