"""The CLI builds only the command its command line names (``parallax.cli.command_app``): every
command's help, usage and option errors must read exactly as when typer builds the whole app,
and the process's exit code through ``main`` must be ``run``'s."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest
import typer
from typer.core import TyperGroup as Group
from typer.core import TyperOption as Option
from typer.testing import CliRunner

from parallax.cli import GLOBAL_VALUE_OPTIONS, app, command_app, run


def _paths(cmd, path=()):
    """Every command and group of the whole app, as the words that name it."""
    if path:
        yield path
    if isinstance(cmd, Group):
        for name, sub in cmd.commands.items():
            yield from _paths(sub, (*path, name))


FULL = typer.main.get_command(app)
PATHS = list(_paths(FULL))


def _both(args: list[str]):
    runner = CliRunner()
    whole = runner.invoke(app, args, prog_name="parallax", env={"COLUMNS": "120"})
    lean = runner.invoke(command_app(args), args, prog_name="parallax", env={"COLUMNS": "120"})
    return whole, lean


def test_the_app_has_every_command() -> None:
    leaves = [p for p in PATHS if not isinstance(_command(p), Group)]
    assert len(leaves) >= 31 and ("ingest", "traces") in PATHS and ("findings",) in PATHS


def _command(path):
    cmd = FULL
    for name in path:
        cmd = cmd.commands[name]
    return cmd


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_help_and_usage_errors_read_as_with_the_whole_app(path) -> None:
    for extra in (["--help"], ["--no-such-option"]):
        for prefix in ([], ["--db", "x.duckdb"], ["--config=p.toml"]):
            args = [*prefix, *path, *extra]
            whole, lean = _both(args)
            assert (lean.exit_code, lean.output) == (whole.exit_code, whole.output), args
            assert whole.exit_code == (0 if extra == ["--help"] else 2), args
            assert path[-1] in whole.output


@pytest.mark.parametrize("args", [[], ["--help"], ["--version"], ["fnidings"], ["--nope"],
                                  ["--db"], ["ingest"], ["ingest", "--help"],
                                  ["ingest", "tarces"], ["annotate", "nope", "--help"]],
                         ids=lambda a: " ".join(a) or "(none)")
def test_without_a_registered_name_the_whole_app_answers(args) -> None:
    whole, lean = _both(args)
    assert (lean.exit_code, lean.output) == (whole.exit_code, whole.output)


def test_only_the_named_command_is_built() -> None:
    group = typer.main.get_command(command_app(["--db", "findings", "overview", "--help"]))
    assert isinstance(group, Group) and list(group.commands) == ["overview"]
    group = typer.main.get_command(command_app(["--config=x", "ingest", "traces", "a.json"]))
    assert isinstance(group, Group) and list(group.commands) == ["ingest"]
    ingest = group.commands["ingest"]
    assert isinstance(ingest, Group) and list(ingest.commands) == ["traces"]
    assert command_app(["--version", "findings"]) is app
    assert len(FULL.commands) > 20  # the lean copies left the app itself whole


def test_the_global_options_that_take_a_value_are_the_apps() -> None:
    takes_value = {o for p in FULL.params if isinstance(p, Option) and not p.is_flag
                   for o in p.opts}
    assert takes_value == set(GLOBAL_VALUE_OPTIONS)


@pytest.mark.parametrize("args", [["--db", "missing.duckdb", "findings"],
                                  ["findings", "--no-such-option"], ["findings", "--help"]],
                         ids=" ".join)
def test_the_entry_points_exit_code_is_runs(tmp_path, monkeypatch, args, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PARALLAX_KEY", "cli-test-key-0123456789abcdef")
    code = run(args)
    capsys.readouterr()
    proc = subprocess.run([sys.executable, "-c", "from parallax.cli import main; main()",
                           *args], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == code
    assert (code == 0) == ("Usage: parallax findings" in proc.stdout)


def test_a_write_through_the_entry_point_is_closed_and_kept(tmp_path) -> None:
    """The entry point freezes the collector before the interpreter exits: the command's
    database must still be closed (checkpointed: no WAL left) and its rows kept."""
    env = {**os.environ, "PARALLAX_KEY": "cli-test-key-0123456789abcdef"}
    db = tmp_path / "a.duckdb"
    proc = subprocess.run([sys.executable, "-c", "from parallax.cli import main; main()",
                           "--db", str(db), "annotate", "add", "--kind", "deploy",
                           "--service", "shop-api", "--start", "2026-10-06T09:30",
                           "--description", "v2.4"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not db.with_name(db.name + ".wal").exists()
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT description FROM annotations").fetchall() == [("v2.4",)]
