"""The README's commands are copy-paste correct: every command of every ``sh`` block runs, as
written, in the folder where the demo was built (the README says so), and exits 0."""

from __future__ import annotations

import glob
import re
import shlex
from pathlib import Path

import pytest

from parallax.cli import run

README = Path(__file__).parents[1] / "README.md"


def readme_commands() -> list[str]:
    """The parallax commands of the README's ``sh`` blocks, in order, comments dropped."""
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)
    lines = [line.split(" #", 1)[0].strip() for b in blocks for line in b.splitlines()]
    return [line for line in lines if line.startswith("parallax ")]


def test_the_readme_shows_commands_to_run() -> None:
    commands = readme_commands()
    assert len(commands) > 30
    assert not [c for c in commands if re.search(r"[\[\]|…]|CONTACT_ID|RUN_ID", c)], (
        "sh blocks hold commands as typed, not synopses")


def test_every_readme_command_runs_on_the_demo(isolated, capsys) -> None:
    tmp_path = isolated  # as a newcomer: the demo's default files, no settings
    assert run(["demo"]) == 0  # `uv run parallax demo`, the README's first command
    failed = []
    for command in readme_commands():
        words = shlex.split(command)[1:]
        args = [hit for w in words for hit in (sorted(glob.glob(w)) if "*" in w else [w])]
        capsys.readouterr()
        code = run(args)
        if code != 0:
            failed.append((command, code, capsys.readouterr().err.strip()))
    assert failed == []
    assert (tmp_path / "report.html").is_file() and (tmp_path / "qa.csv").is_file()


@pytest.mark.parametrize("typed", ["/Checkout/", "https://shop.example.com/checkout?x=1"])
def test_drill_normalises_a_typed_route_like_every_route_option(typed, demo_db, capsys) -> None:
    assert run(["--db", str(demo_db), "drill", "route", typed, "--format", "json"]) == 0
    assert '"subject": "/checkout"' in capsys.readouterr().out
