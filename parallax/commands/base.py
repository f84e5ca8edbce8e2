"""What every command shares: the typer app, global options, opening the database.

Command modules register themselves on ``app`` when ``parallax.cli`` imports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from parallax.errors import ConfigError

__all__ = ["analysis_settings", "app", "check_format", "open_db", "pairs", "parse_when",
           "print_query", "refresh_pages"]

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
) -> None:
    ctx.obj = _Globals(db, config)


def open_db(ctx: typer.Context):
    """Open (and migrate) the database; the CLI is the only caller of ``db.connect``."""
    from parallax.config import load_config
    from parallax.db import connect, resolve_db_path

    g: _Globals = ctx.obj
    cfg = load_config(g.config)
    path = resolve_db_path(g.db)
    return connect(path), cfg, path


def refresh_pages(con, cfg) -> None:
    """Fold new loads into the page-level join model now, so analysis never re-reads spans."""
    from parallax.exposure import refresh_pages

    refresh_pages(con, analysis_settings(cfg)[1])


def parse_when(value: str | None, flag: str):
    if value is None:
        return None
    from datetime import UTC, datetime

    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{flag} {value!r}: expected an ISO date or time, "
                          "e.g. 2026-10-05 or 2026-10-05T12:00Z") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def print_query(con, name: str, params: dict | None = None) -> None:
    from parallax.console import print_rows
    from parallax.db import read_sql

    cur = con.execute(read_sql("queries", name), params) if params else con.execute(
        read_sql("queries", name))
    print_rows([d[0] for d in cur.description], cur.fetchall())


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


def check_format(value: str, allowed: tuple[str, ...] = ("table", "json")) -> str:
    if value not in allowed:
        raise ConfigError(f"--format {value!r}: expected {', '.join(allowed[:-1])} or "
                          f"{allowed[-1]}")
    return value
