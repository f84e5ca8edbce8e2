"""The ``parallax`` command: parse, call a library function, print.

Commands live in ``parallax.commands.*`` (one module per family) and register on one typer app.
``run()`` is the one error boundary: a ``ParallaxError`` becomes one line on stderr and its exit
code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import copy
import gc
import os
import sys

import typer
from typer.main import get_command_name
from typer.models import CommandInfo

from parallax.commands import (  # noqa: F401  (importing registers the commands)
    analysis,
    annotate,
    contacts,
    erase,
    ingest,
    insights,
    lake,
    pull,
    queries,
    review,
    routes,
    sampling,
    serve,
    workflows,
)
from parallax.commands.base import app
from parallax.commands.examples import add_examples
from parallax.errors import ParallaxError
from parallax.terminal import safe_text

__all__ = ["GLOBAL_VALUE_OPTIONS", "command_app", "main", "private_files", "run"]

add_examples(app)

# The global options (``_global`` in parallax.commands.base) that take a value: the words
# before the command name that are not themselves the name. A test checks this against the app.
GLOBAL_VALUE_OPTIONS = ("--db", "--config")


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the error boundary; tests call this)."""
    private_files()
    words = sys.argv[1:] if argv is None else argv
    try:
        command_app(words)(args=argv, prog_name="parallax", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except ParallaxError as exc:
        # Messages quote values from files and databases: one line, nothing a terminal acts on.
        print(f"parallax: error: {safe_text(str(exc), one_line=True)}", file=sys.stderr)
        return exc.exit_code
    return 0


def command_app(words: list[str]) -> typer.Typer:
    """The app with only the command the command line names registered (and in a group only
    its sub-command named next), so typer builds one command's options, not all 31 (0.09 s of
    a profiled `findings` run). Running it is the same as running the whole app: a group
    dispatches to the named command alone, and the usage, help and errors of a command do not
    depend on its siblings. When no registered name comes first (no command, ``--help``,
    ``--version``, an unknown option or a mistyped name), the whole app answers, with its
    listings and suggestions."""
    return _only(app, _named(words, GLOBAL_VALUE_OPTIONS))


def _named(words: list[str], value_options: tuple[str, ...] = ()) -> list[str]:
    """The leading words that name commands and groups: after options that take a value (and
    their values), up to the first other option."""
    names: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if not names and word in value_options:
            i += 2
        elif not names and word.startswith(tuple(f"{o}=" for o in value_options)):
            i += 1
        elif word.startswith("-"):
            break
        else:
            names.append(word)
            i += 1
    return names


def _only(typer_app: typer.Typer, names: list[str]) -> typer.Typer:
    if not names:
        return typer_app
    commands = [c for c in typer_app.registered_commands if _command_name(c) == names[0]]
    groups = [g for g in typer_app.registered_groups if g.name == names[0]]
    if not commands and not groups:
        return typer_app
    lean = copy.copy(typer_app)
    lean.registered_commands = commands
    lean.registered_groups = []
    for group in groups:
        assert group.typer_instance is not None  # our groups are added as Typer apps
        sub = copy.copy(group)
        sub.typer_instance = _only(group.typer_instance, names[1:])
        lean.registered_groups.append(sub)
    return lean


def _command_name(info: CommandInfo) -> str:
    assert info.callback is not None  # typer registers a command with its function
    return info.name or get_command_name(info.callback.__name__)


def private_files() -> None:
    """Files this process creates are its user's alone: 0600, folders 0700. The database, its
    WAL and spill files (created by DuckDB), the key, the receiver's spool, exports and
    reports hold personal data; a group that should read them is granted it explicitly
    (docs/privacy.md). A stricter umask the user set stays."""
    os.umask(os.umask(0o077) | 0o077)


def main() -> None:
    # The models' matrices are small (thousands of rows, tens of columns): BLAS threads gain
    # nothing on them and, beside DuckDB's threads and the segment fits' thread, oversubscribe
    # the cores — correlate measured 1.7x faster on 2 busy cores with one. Set before numpy
    # loads; a value the user set wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    code = run()
    # Everything is about to be freed: the collector's passes at exit over every object the
    # libraries made (numpy, scipy, duckdb) find nothing worth their time (correlate's
    # exit at 20 k sessions took 0.31 s with them, 0.09 s without, load 5–6). The database is
    # closed by now (``session``), and the exit still flushes the streams, runs atexit and
    # joins threads.
    gc.freeze()
    sys.exit(code)
