"""The only place that opens DuckDB. Opening applies pending schema migrations.

Migrations are the versioned files ``models/schema/NNN_name.sql``, applied in order, each in
its own transaction and recorded in ``schema_migrations``; a database never goes backwards.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

import duckdb

from parallax.errors import DatabaseError

__all__ = ["DEFAULT_DB", "connect", "migrate", "read_sql", "resolve_db_path", "sql_params"]

DEFAULT_DB = "parallax.duckdb"
_MIGRATION = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_SQL_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")


def resolve_db_path(option: str | os.PathLike | None) -> Path:
    """``--db`` beats ``$PARALLAX_DB`` beats ``./parallax.duckdb``."""
    return Path(option or os.environ.get("PARALLAX_DB") or DEFAULT_DB)


def read_sql(package: str, name: str) -> str:
    """Text of a .sql file shipped inside a parallax subpackage (``models.load``, ``queries``)."""
    return resources.files(f"parallax.{package}").joinpath(name).read_text(encoding="utf-8")


def sql_params(sql: str) -> set[str]:
    """The ``$parameters`` a SQL text uses, ignoring ``--`` comments (headers name them too);
    DuckDB refuses parameters a statement does not use, so callers bind exactly these."""
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return set(_SQL_PARAM.findall(code))


def connect(path: str | os.PathLike, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    try:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=read_only)
    except (duckdb.Error, OSError) as exc:
        raise DatabaseError(f"{path}: cannot open database: {_first_line(exc)}") from None
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        migrate(con, path)
    return con


def migrate(con: duckdb.DuckDBPyConnection, label: os.PathLike | str = "database") -> list[str]:
    """Apply the schema files not yet applied; return their names."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())"
    )
    done = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    schema = resources.files("parallax.models").joinpath("schema")
    for entry in sorted(schema.iterdir(), key=lambda e: e.name):
        m = _MIGRATION.match(entry.name)
        if not m or int(m.group(1)) in done:
            continue
        try:
            con.execute("BEGIN")
            con.execute(entry.read_text(encoding="utf-8"))
            con.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                [int(m.group(1)), m.group(2)],
            )
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            msg = f"{label}: migration {entry.name} failed: {_first_line(exc)}"
            raise DatabaseError(msg) from None
        applied.append(entry.name)
    return applied


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
