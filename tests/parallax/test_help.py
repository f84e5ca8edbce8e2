"""Help a newcomer can read: every command ends with examples that name real commands and
options, brackets in help text survive Rich (``[sources.NAME]``), and ``--version``."""

from __future__ import annotations

import shlex

import pytest
import typer
from rich.text import Text

from parallax.cli import app, run
from parallax.commands.examples import EXAMPLES


def _leaves(cmd, path=()):
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            yield from _leaves(sub, (*path, name))
    else:
        yield " ".join(path), cmd


def _texts(cmd):
    yield cmd.help or ""
    yield cmd.epilog or ""
    yield from (getattr(p, "help", None) or "" for p in cmd.params)


LEAVES = dict(_leaves(typer.main.get_command(app)))


def test_every_command_has_examples_in_its_help() -> None:
    assert sorted(LEAVES) == sorted(EXAMPLES)
    for name, cmd in LEAVES.items():
        assert cmd.epilog and cmd.epilog.startswith("Examples:"), name


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_parses_as_its_command(name) -> None:
    """Every option an example uses exists and every required argument is there."""
    for example in EXAMPLES[name]:
        words = [w for w in shlex.split(example) if "=" not in w or w.startswith("-")]
        assert words[0] == "parallax", example
        group = typer.main.get_command(app)
        ctx = group.make_context("parallax", words[1:])
        rest, path = [*ctx._protected_args, *ctx.args], []
        while hasattr(group, "commands"):
            sub, group, rest = group.resolve_command(ctx, rest)
            ctx = group.make_context(sub, rest, parent=ctx)  # raises on a bad option
            rest, path = [*ctx._protected_args, *ctx.args], [*path, sub]
        assert " ".join(path) == name, example


def test_brackets_in_help_text_are_shown_not_eaten_as_markup(capsys) -> None:
    for name, cmd in LEAVES.items():
        for text in _texts(cmd):
            assert Text.from_markup(text).plain == text.replace("\\[", "["), (name, text)
    assert run(["pull", "--help"]) == 0
    assert "[sources.NAME]" in capsys.readouterr().out


def test_version(capsys) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "parallax 0.1.0"
