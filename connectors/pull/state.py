"""Cursor state per source, in ``source_state`` (``models/schema/005_source_state.sql``).

``save_cursor`` runs inside the loader's transaction (its ``in_transaction`` hook), so the
cursor moves exactly when the rows it covers are committed. ``finish`` records how a pull ended.
"""

from __future__ import annotations

import duckdb

__all__ = ["finish", "read_cursor", "reset", "save_cursor"]

_UPSERT = ("INSERT INTO source_state (source, type, cursor, updated_at) VALUES (?, ?, ?, now()) "
           "ON CONFLICT (source) DO UPDATE SET type = excluded.type, cursor = excluded.cursor, "
           "updated_at = excluded.updated_at")


def read_cursor(con: duckdb.DuckDBPyConnection, source: str) -> str | None:
    rows = con.execute("SELECT cursor FROM source_state WHERE source = ?", [source]).fetchall()
    return rows[0][0] if rows else None


def save_cursor(con: duckdb.DuckDBPyConnection, source: str, type_: str,
                cursor: str | None) -> None:
    """Never moves the cursor backwards (pages of an unordered source may be older)."""
    current = read_cursor(con, source)
    if cursor is None or (current is not None and cursor <= current):
        cursor = current
    con.execute(_UPSERT, [source, type_, cursor])


def reset(con: duckdb.DuckDBPyConnection, source: str, type_: str, cursor: str | None) -> None:
    """--full-refresh / --since: start over from ``cursor`` (None: the source's default)."""
    con.execute(_UPSERT, [source, type_, cursor])


def finish(con: duckdb.DuckDBPyConnection, source: str, type_: str,
           error: str | None = None) -> None:
    con.execute("INSERT INTO source_state (source, type, updated_at) VALUES (?, ?, now()) "
                "ON CONFLICT (source) DO NOTHING", [source, type_])
    if error is None:
        con.execute("UPDATE source_state SET last_success_at = now(), last_error = NULL "
                    "WHERE source = ?", [source])
    else:
        con.execute("UPDATE source_state SET last_error = ? WHERE source = ?",
                    [error[:500], source])
