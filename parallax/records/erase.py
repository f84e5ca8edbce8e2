"""Erasing one person: their rows deleted from every table, and kept out of later loads.

    result = erase(con, pseudonymize, user="u-123")        # or email=…, session=…

The person is named by a user id or e-mail (stored only as its keyed pseudonym, so the
pseudonym is computed with the database's key) or by a session id. Their sessions are the
given one and every session a row with their user id belongs to. In one transaction:

- every table with a ``user_id`` column loses the rows of the pseudonym, every table with a
  ``session_id`` column the rows of those sessions — canonical tables and the join model's
  alike, found in the catalog so a table added later is not forgotten; events also by the
  GA4 user id kept in their properties;
- evaluations of their responses and interactions, and rejects whose stored record mentions
  the pseudonym, a session or the value as given;
- tombstones (``user`` by pseudonym, ``session`` by the pseudonym of each session id) make
  every later load drop their staged rows before storing
  (``connectors.tombstones``), so re-ingesting
  an old export does not bring them back;
- ``erasures`` logs the kind, the pseudonym and the rows deleted per table — never the value.

Files the receiver has accepted but not yet loaded (its spool) still hold raw records; an
erasure that finds the person there is refused before anything is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from parallax.connectors.privacy import Pseudonymizer
from parallax.db import read_sql, transaction
from parallax.errors import ConfigError

__all__ = ["Erasure", "erase"]


@dataclass(frozen=True)
class Erasure:
    kind: str  # user | email | session
    pseudonym: str
    sessions: int  # sessions erased
    rows: Mapping[str, int]  # table → rows deleted

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def erase(con: duckdb.DuckDBPyConnection, pseudonymize: Pseudonymizer, *,
          user: str | None = None, email: str | None = None, session: str | None = None,
          spool: Path | None = None) -> Erasure:
    given = [(k, v) for k, v in (("user", user), ("email", email), ("session", session))
             if v is not None and str(v).strip()]
    if len(given) != 1:
        raise ConfigError("erase: give exactly one of --user, --email or --session")
    kind, value = given[0][0], str(given[0][1]).strip()
    pseudonym = pseudonymize(value)
    assert pseudonym is not None
    person = None if kind == "session" else pseudonym
    _check_spool(spool, [value, pseudonym])
    with transaction(con):
        con.execute(read_sql("models", "erase/sessions.sql"),
                    {"user": person, "session": value if kind == "session" else None})
        sessions = [s for (s,) in con.execute("SELECT session_id FROM _erase_sessions")
                    .fetchall()]
        rows = _delete(con, person, value)
        con.execute("DELETE FROM exposure_state")  # the join model rebuilds from what remains
        stones = ([("user", person)] if person else []) + [
            ("session", pseudonymize(s)) for s in sessions]
        con.executemany("INSERT OR IGNORE INTO tombstones VALUES (?, ?, now())", stones)
        con.execute("INSERT INTO erasures VALUES (now(), ?, ?, ?)",
                    [kind, pseudonym, json.dumps(rows, sort_keys=True)])
        con.execute("DROP TABLE _erase_sessions")
    # Write the deletions into the database file now rather than leave them in the WAL.
    con.execute("CHECKPOINT")
    return Erasure(kind, pseudonym, len(sessions), rows)


def _delete(con: duckdb.DuckDBPyConnection, person: str | None, value: str) -> dict[str, int]:
    rows: dict[str, int] = {}

    def run(table: str, where: str, params: dict) -> None:
        # Table and column names come from DuckDB's own catalog; values are parameters.
        [(n,)] = con.execute(f'DELETE FROM "{table}" WHERE {where}', params).fetchall()
        if n:
            rows[table] = rows.get(table, 0) + int(n)

    ids = "(SELECT session_id FROM _erase_sessions)"
    # Evaluations name responses and interactions by id: delete them while the ids exist.
    run("evaluations", "(kind = 'responses' AND item_id IN (SELECT feedback_id FROM feedback "
        f"WHERE user_id = $p OR session_id IN {ids})) OR (kind = 'interactions' AND item_id IN "
        "(SELECT interaction_id FROM interactions WHERE user_id = $p))", {"p": person})
    run("rejects", f"contains(raw, $v) OR contains(raw, $p) OR EXISTS (SELECT 1 FROM {ids} AS s "
        "WHERE contains(raw, s.session_id))", {"v": value, "p": person or value})
    run("events", "properties->>'$.user_id' = $p", {"p": person})
    columns = con.execute(
        "SELECT table_name, list(column_name) FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal "
        "AND column_name IN ('user_id', 'session_id') AND NOT starts_with(table_name, 'stage_') "
        "AND table_name IN (SELECT table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name = 'main' AND NOT temporary) "
        "GROUP BY table_name ORDER BY table_name").fetchall()
    for table, cols in columns:
        where = []
        if "user_id" in cols and person:
            where.append("user_id = $p")
        if "session_id" in cols:
            where.append(f"session_id IN {ids}")
        if where:
            run(table, " OR ".join(where), {"p": person} if person and "user_id" in cols else {})
    return rows


def _check_spool(spool: Path | None, needles: list[str]) -> None:
    if spool is None or not spool.is_dir():
        return
    wanted = [n.encode() for n in needles if n]
    pending = [p for p in spool.rglob("*") if p.is_file() and p.suffix in (".jsonl", ".json")]
    hits = sum(1 for p in pending if any(w in p.read_bytes() for w in wanted))
    if hits:
        raise ConfigError(f"{spool}: {hits} file(s) the receiver accepted but has not loaded yet "
                          "mention this person; let `parallax serve` hand them off (or stop it "
                          "and run `parallax serve` once more), then erase again")
