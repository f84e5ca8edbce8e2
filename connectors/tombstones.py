"""Tombstones on load: the staged rows of people erased with ``parallax erase`` are dropped
before a load stores anything (``parallax/records/erase.py`` writes the tombstones)."""

from __future__ import annotations

import duckdb

from parallax.connectors.privacy import Pseudonymizer

__all__ = ["drop_erased"]


def drop_erased(con: duckdb.DuckDBPyConnection, pseudonymize: Pseudonymizer,
                staged: dict[str, int]) -> int:
    """Before a load's merge: delete the staged rows of erased people (tombstones); the rows
    dropped. ``staged`` (rows per stage table) is updated so duplicates still add up."""
    stones = con.execute("SELECT kind, pseudonym FROM tombstones").fetchall()
    if not stones:
        return 0
    users = [p for k, p in stones if k == "user"]
    gone = {p for k, p in stones if k == "session"}
    dropped = 0
    for table in list(staged):
        cols = {c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() "
            "WHERE database_name = 'temp' AND table_name = ?", [f"stage_{table}"]).fetchall()}
        where, params = [], {}
        if users and "user_id" in cols:
            where.append("user_id IN (SELECT unnest($users))")
            params["users"] = users
        if gone and "session_id" in cols:
            # Session ids are stored as given: only the distinct staged ones are hashed.
            ids = [s for (s,) in con.execute(
                f"SELECT DISTINCT session_id FROM stage_{table} WHERE session_id IS NOT NULL"
            ).fetchall() if pseudonymize(s) in gone]
            if ids:
                where.append("session_id IN (SELECT unnest($sessions))")
                params["sessions"] = ids
        if where:  # the table name is one of our canonical tables, never user input
            [(n,)] = con.execute(f"DELETE FROM stage_{table} WHERE {' OR '.join(where)}",
                                 params).fetchall()
            staged[table] -= int(n)
            dropped += int(n)
    return dropped
