"""What every command shares: the typer app, global options, the database session.

Command modules register themselves on ``app`` when ``parallax.cli`` imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from parallax.errors import ConfigError

if TYPE_CHECKING:  # a command's start imports no more than it uses
    import duckdb

    from parallax.config import Config
    from parallax.connectors.routes import RouteNormalizer
    from parallax.correlate.settings import Settings
    from parallax.exposure import JoinSettings

__all__ = ["Session", "analysis_settings", "app", "check_format", "command_line", "pairs",
           "parse_when", "parse_window", "print_query", "refresh_pages", "session", "writable"]

app = typer.Typer(
    help="Parallax: put what customers say beside what they got.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass(frozen=True)
class _Globals:
    db: str | None
    config: Path | None


@app.callback()
def _global(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option(
        "--db", help="DuckDB file (env PARALLAX_DB; default ./parallax.duckdb)")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="Settings file (env PARALLAX_CONFIG; default ./parallax.toml)")] = None,
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=lambda v: _print_version(v),
        help="Print the version and exit.")] = False,
) -> None:
    ctx.obj = _Globals(db, config)


def _print_version(wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version

        from parallax.terminal import echo

        echo(f"parallax {version('parallax')}")
        raise typer.Exit()


class Session:
    """An open database and what commands read beside it: the config, the analysis settings
    and the route normaliser. Every ``--route`` a user types goes through ``route`` so it
    means the stored template in every command."""

    def __init__(self, con: duckdb.DuckDBPyConnection, cfg: Config, path: Path) -> None:
        self.con, self.cfg, self.path = con, cfg, path

    @cached_property
    def analysis(self) -> tuple[Settings, JoinSettings]:
        """``[correlate]`` and ``[join]``, checked (``analysis_settings``)."""
        return analysis_settings(self.cfg)

    @cached_property
    def routes(self) -> RouteNormalizer:
        """``[routes]`` and the templates learned from this database's spans."""
        from parallax.options import route_normalizer

        return route_normalizer(self.cfg, self.con)

    def route(self, value: str) -> str:
        """A route as typed (a URL, a path, a template in any framework's syntax) → the
        stored template it lands on; as typed when it lands on none."""
        return self.routes(value) or value


@contextmanager
def session(ctx: typer.Context, *, create: bool = False) -> Iterator[Session]:
    """The database opened (and migrated) for one command, closed however the command ends;
    the CLI is the only caller of ``db.connect``. Only commands that load data ``create`` one:
    for any other, a missing file is a mistyped ``--db`` (refused in one line) rather than a
    new empty database and folders."""
    from parallax.config import load_config
    from parallax.db import connect, resolve_db_path

    g: _Globals = ctx.obj
    cfg = load_config(g.config)
    path = resolve_db_path(g.db)
    if not create and not path.is_file():
        raise ConfigError(f"{path}: no such database (check --db; "
                          f"`{command_line('ingest', '…')}` or `{command_line('demo')}` "
                          "creates one)")
    con = connect(path)
    try:
        yield Session(con, cfg, path)
    finally:
        con.close()


def command_line(*args: str, db: Path | None = None) -> str:
    """A parallax command as the user must type it here: ``uv run parallax`` in a checkout
    (no ``parallax`` on the PATH there), ``--db`` only when not the default."""
    import shlex

    from parallax.db import DEFAULT_DB

    root = Path(__file__).resolve().parents[2]
    words = ["parallax"]
    if (root / "pyproject.toml").is_file() and (root / "parallax" / "cli.py").is_file():
        words = ["uv", "run", "parallax"]
        if not Path.cwd().resolve().is_relative_to(root):  # uv finds the project from cwd
            words[2:2] = ["--project", str(root)]
    if db is not None and str(db) not in (DEFAULT_DB, f"./{DEFAULT_DB}"):
        words += ["--db", str(db)]
    return " ".join(shlex.quote(w) if w != "…" else w for w in (*words, *args))


def refresh_pages(con, cfg) -> None:
    """Fold new loads into the page-level join model now, so analysis never re-reads spans."""
    from parallax.exposure import refresh_pages

    refresh_pages(con, analysis_settings(cfg)[1])


def parse_when(value: str | None, flag: str):
    """One time option: ISO, or relative (``yesterday``, ``-7d``; parallax.times)."""
    from parallax.times import parse_time

    return parse_time(value, flag)


def parse_window(since: str | None, until: str | None, flags=("--since", "--until")):
    """``--since``/``--until`` as (start, end); an end not after the start is refused."""
    from parallax.times import parse_window as window

    return window(since, until, flags)


def print_query(con, name: str, params: dict | None = None) -> None:
    """A named query (``queries/NAME.sql``) printed as a table."""
    from parallax.commands.console import print_rows
    from parallax.named_queries import run_query

    rel = run_query(con, name, params or {})
    print_rows(rel.columns, rel.fetchall())


def pairs(values: list[str] | None, flag: str = "--field",
           shape: str = "canonical=column") -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values or []:
        key, sep, col = v.partition("=")
        if not sep or not key.strip() or not col.strip():
            raise ConfigError(f"{flag} {v!r}: expected {shape}")
        out[key.strip()] = col.strip()
    return out


def analysis_settings(cfg):
    """``[correlate]`` and ``[join]`` of parallax.toml as (Settings, JoinSettings), checked."""
    from parallax.correlate.settings import Settings
    from parallax.exposure import JoinSettings

    return (Settings.from_mapping(cfg.extra.get("correlate") or {}),
            JoinSettings.from_mapping(cfg.extra.get("join") or {}))


def selection_settings(cfg):
    """``[selection]`` of parallax.toml (which analytics events are survey offers, trimming)."""
    from parallax.correlate.settings import SelectionSettings

    return SelectionSettings.from_mapping(cfg.extra.get("selection") or {})


def check_format(value: str, allowed: tuple[str, ...] = ("table", "json"),
                 option: str = "--format") -> str:
    if value not in allowed:
        raise ConfigError(f"{option} {value!r}: expected {', '.join(allowed[:-1])} or "
                          f"{allowed[-1]}")
    return value


def writable(flag: str) -> Callable[[Path | None], Path | None]:
    """An option callback: a file the command will write (``--out``, ``--html``) is checked as
    the command line is parsed, so a path it cannot write is refused before any work."""

    def check(value: Path | None) -> Path | None:
        from parallax.files import check_writable

        check_writable(value, flag)
        return value

    return check
