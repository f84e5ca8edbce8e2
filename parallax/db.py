"""The only place that opens DuckDB. Opening applies pending schema migrations.

Migrations are the versioned files ``models/schema/NNN_name.sql``, applied in order, each in
its own transaction and recorded in ``schema_migrations``; a database never goes backwards.

SQL that Parallax did not write (``parallax sql``, and the named queries of ``parallax query``)
runs on ``sandboxed``: read-only, external access off (no files, URLs, other databases or
extensions), the configuration locked, and only one SELECT statement (``read_query``).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, cast

import duckdb

from parallax.errors import ConfigError, DatabaseError, QueryError

__all__ = ["DEFAULT_DB", "SANDBOX_CONFIG", "bind", "connect", "drop_function", "fetch_dicts",
           "is_locked", "lock_wait", "migrate", "read_query", "read_sql", "resolve_db_path",
           "run_sql", "sandboxed", "settings", "sql_code", "sql_params", "transaction",
           "waiting_marker"]

DEFAULT_DB = "parallax.duckdb"
LOCKED = "Conflicting lock is held"  # DuckDB's message when another process has the file
DEFAULT_LOCK_WAIT = 60.0  # seconds a command waits for another process's lock
_MIGRATION = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_SQL_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")
_SETTING = re.compile(r"[a-z_]+")  # a setting's name is SQL text (SET cannot bind it)
# Column types whose Python values are the same whether fetched by DuckDB or through Arrow
# (``fetch_dicts``); lists and structs of them too.
_PLAIN_TYPES = frozenset({
    "boolean", "tinyint", "smallint", "integer", "bigint", "utinyint", "usmallint", "uinteger",
    "ubigint", "float", "double", "decimal", "varchar", "blob", "enum", "null", "date", "time",
    "timestamp", "timestamp_s", "timestamp_ms", "timestamp with time zone"})
# Top-level columns DuckDB fetches as another Python type than Arrow: made what Arrow gives.
_AS_ARROW_GIVES = {"hugeint": "decimal", "uhugeint": "decimal", "uuid": "str"}
# The sandbox for SQL Parallax did not write (docs/privacy.md). With external access off
# DuckDB opens no file but the database's own (and ``sandboxed`` switches those off too): no
# read_text, read_csv, glob or URL, no COPY, EXPORT or ATTACH of another file, no INSTALL, no
# LOAD of an extension file. ``lock_configuration`` (set last) then refuses every SET.
SANDBOX_CONFIG: dict[str, Any] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "allow_persistent_secrets": False,
    "python_enable_replacements": False,  # a Python variable's name is not a table
}
_EXPLAIN = re.compile(r"\A\s*EXPLAIN\s+(?:ANALY[SZ]E\s+)?(?:\([^()]*\)\s*)?", re.IGNORECASE)


def resolve_db_path(option: str | os.PathLike | None) -> Path:
    """``--db`` beats ``$PARALLAX_DB`` beats ``./parallax.duckdb``."""
    return Path(option or os.environ.get("PARALLAX_DB") or DEFAULT_DB)


def read_sql(package: str, name: str) -> str:
    """Text of a .sql file shipped inside a parallax subpackage (``models.load``, ``queries``)."""
    return resources.files(f"parallax.{package}").joinpath(name).read_text(encoding="utf-8")


def sql_code(stmt: str) -> str:
    """A statement without its comment lines ('' if it holds no SQL)."""
    return "\n".join(line for line in stmt.splitlines()
                     if line.strip() and not line.lstrip().startswith("--")).strip()


def drop_function(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Unregister a Python function from a connection; nothing if it is not registered."""
    with contextlib.suppress(duckdb.Error, ValueError):
        con.remove_function(name)


def sql_params(sql: str) -> set[str]:
    """The ``$parameters`` a SQL text uses, ignoring ``--`` comments (headers name them too);
    DuckDB refuses parameters a statement does not use, so callers bind exactly these."""
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return set(_SQL_PARAM.findall(code))


def bind(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The values of exactly the ``$parameters`` ``sql`` uses, by name: a model's SQL file
    takes what it needs from the caller's whole set (DuckDB refuses unused ones)."""
    return {k: params[k] for k in sorted(sql_params(sql)) if k in params}


def run_sql(con: duckdb.DuckDBPyConnection, sql: str,
            params: Mapping[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Run one statement of Parallax's own SQL (a ``models/`` file) with ``bind``'s values;
    SQL Parallax did not write goes through ``read_query`` instead."""
    values = bind(sql, params or {})
    return con.execute(sql, values) if values else con.execute(sql)


def fetch_dicts(rel: duckdb.DuckDBPyRelation) -> tuple[list[str], list[dict]]:
    """A relation's column names and its rows as dicts, exactly as
    ``rel.to_arrow_table().to_pylist()`` gives them, without importing pyarrow (and numpy and
    pandas behind it) when DuckDB's own ``fetchall`` yields the same values: every column a
    plain type or a list or struct of them; 128-bit integers become ``Decimal`` and UUIDs text,
    as through Arrow. Anything else (intervals, maps, nanosecond timestamps, …) still goes
    through Arrow."""
    columns, types = list(rel.columns), list(rel.types)
    if not all(t.id in _AS_ARROW_GIVES or _plain(t) for t in types):
        table = rel.to_arrow_table()
        return table.column_names, table.to_pylist()
    rows = rel.fetchall()
    convert = {i: _AS_ARROW_GIVES[t.id] for i, t in enumerate(types) if t.id in _AS_ARROW_GIVES}
    if convert:
        from decimal import Decimal

        to = {"decimal": Decimal, "str": str}
        rows = [tuple(to[convert[i]](v) if i in convert and v is not None else v
                      for i, v in enumerate(row)) for row in rows]
    return columns, [dict(zip(columns, row, strict=True)) for row in rows]


def _plain(t: duckdb.sqltypes.DuckDBPyType) -> bool:
    if t.id in ("list", "struct"):
        # a list's and a struct's children are types (a decimal's are its width and scale)
        return all(_plain(cast(duckdb.sqltypes.DuckDBPyType, child)) for _, child in t.children)
    return t.id in _PLAIN_TYPES


def lock_wait() -> float:
    """Seconds to wait for a database another process holds: ``$PARALLAX_DB_WAIT``, else 60."""
    try:
        return max(0.0, float(os.environ.get("PARALLAX_DB_WAIT", DEFAULT_LOCK_WAIT)))
    except ValueError:
        return DEFAULT_LOCK_WAIT


def is_locked(exc: BaseException) -> bool:
    """True if opening failed because another process holds the database file."""
    return LOCKED in str(exc)


def waiting_marker(path: str | os.PathLike) -> Path:
    """``<db>.waiting``: touched while a command waits for the lock, so that the receiver's
    hand-off (which opens with ``wait=0``) lets it in first."""
    path = Path(path)
    return path.with_name(path.name + ".waiting")


def _announce_wait(path: Path) -> None:
    # In a read-only folder the command still gets in, between hand-offs.
    with contextlib.suppress(OSError):
        waiting_marker(path).touch()


def connect(path: str | os.PathLike, *, read_only: bool = False,
            wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open (and migrate) a database. DuckDB lets one process at a time write a file, and the
    receiver (``parallax serve``) opens it every few seconds for a hand-off, so a file held by
    another process is retried for ``wait`` seconds (default ``lock_wait()``) before failing."""
    path = Path(path)
    con = _open(path, read_only, {}, wait)
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        migrate(con, path)
    return con


@contextlib.contextmanager
def sandboxed(path: str | os.PathLike,
              wait: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for SQL Parallax did not write, closed on leaving:
    ``SANDBOX_CONFIG``, the time zone UTC, the local file system switched off (DuckDB keeps
    reading the database through the handles it opened, but no SQL function can open a file,
    not even the database's own bytes or its WAL, where erased rows may linger; nor can a
    query spill to disk), then the configuration locked. Run statements with ``read_query``.
    Never migrates, and a database that does not exist is an error, not created."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such database (load something with `parallax ingest`)")
    con = _open(path, True, SANDBOX_CONFIG, wait)
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET disabled_filesystems = 'LocalFileSystem'")
        con.execute("SET lock_configuration = true")
        yield con
    finally:
        con.close()


def read_query(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | None = None,
               *, label: str = "sql") -> duckdb.DuckDBPyRelation:
    """The relation of exactly one SELECT (``WITH``, ``FROM``, ``VALUES``, ``DESCRIBE``,
    ``SHOW``, ``SUMMARIZE`` are SELECTs; ``EXPLAIN [ANALYZE]`` of one too). Anything else, or
    a second statement after a ``;``, is refused before DuckDB runs any of it: a
    ``QueryError`` saying ``label: …`` in one line."""
    kind = _statement_kind(con, sql, label)
    if kind == "EXPLAIN":
        inner = _EXPLAIN.sub("", sql, count=1)
        kind = "EXPLAIN " + _statement_kind(con, inner, label) if inner != sql else kind
    if kind not in ("SELECT", "EXPLAIN SELECT"):
        raise QueryError(f"{label}: {kind} refused: the connection is read-only and runs one "
                         "SELECT statement")
    try:
        return con.sql(sql, params=dict(params)) if params else con.sql(sql)
    except duckdb.Error as exc:
        raise QueryError(f"{label}: {_first_line(exc)}") from None


def _statement_kind(con: duckdb.DuckDBPyConnection, sql: str, label: str) -> str:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"{label}: {_first_line(exc)}") from None
    if not statements:
        raise QueryError(f"{label}: no statement given")
    if len(statements) != 1:
        raise QueryError(f"{label}: one statement at a time, not {len(statements)} "
                         "(the connection is read-only and runs one SELECT statement)")
    kind = statements[0].type.name
    if kind == "LOAD" and re.match(r"\s*(?:FORCE\s+)?INSTALL\b", sql, re.IGNORECASE):
        return "INSTALL"  # DuckDB files INSTALL under LOAD
    return kind


def _open(path: Path, read_only: bool, config: Mapping[str, Any],
          wait: float | None) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + (lock_wait() if wait is None else wait)
    pause, waited = 0.02, False
    while True:
        try:
            created = not read_only and not path.exists()
            if not read_only:
                path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(path), read_only=read_only, config=dict(config))
            if created:  # personal data: the owner's alone (cli.run's umask covers the WAL)
                with contextlib.suppress(OSError):
                    path.chmod(0o600)
            break
        except (duckdb.Error, OSError) as exc:
            if is_locked(exc) and time.monotonic() < deadline:
                _announce_wait(path)
                waited = True
                time.sleep(pause)
                pause = min(pause * 2, 0.1)
                continue
            raise DatabaseError(f"{path}: cannot open database: {_first_line(exc)}") from None
    if waited:
        waiting_marker(path).unlink(missing_ok=True)
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


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: BEGIN, then COMMIT when the block ends, ROLLBACK on any exception
    (Ctrl-C too, which is why BaseException) before it propagates."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


@contextlib.contextmanager
def settings(con: duckdb.DuckDBPyConnection, **values: Any) -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB settings changed for the block (``settings(con, memory_limit="512MB")``) and set
    back to what they were when it ends, however it ends."""
    for name in values:
        if not _SETTING.fullmatch(name):
            raise ValueError(f"not a DuckDB setting name: {name!r}")
    previous = {name: con.execute("SELECT current_setting(?)", [name]).fetchall()[0][0]
                for name in values}
    try:
        for name, value in values.items():
            con.execute(f"SET {name} = ?", [value])
        yield con
    finally:
        for name, value in previous.items():
            con.execute(f"SET {name} = ?", [value])
