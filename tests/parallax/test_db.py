"""Opening a database creates or migrates the schema, once."""

from __future__ import annotations

import pytest

from parallax.db import connect, resolve_db_path
from parallax.errors import DatabaseError

CANONICAL = {"feedback", "sessions", "page_views", "events", "spans", "interactions",
             "annotations", "loads", "rejects", "correlate_runs", "findings"}


def test_connect_creates_schema_once(tmp_path) -> None:
    path = tmp_path / "sub" / "p.duckdb"
    con = connect(path)
    tables = {t for (t,) in con.execute("SHOW TABLES").fetchall()}
    assert tables >= CANONICAL
    applied = con.execute("SELECT count(*) FROM schema_migrations").fetchall()
    con.close()
    con = connect(path)  # second open applies nothing new
    assert con.execute("SELECT count(*) FROM schema_migrations").fetchall() == applied
    assert applied[0][0] >= 2
    con.close()


def test_timestamps_are_utc(tmp_path) -> None:
    con = connect(tmp_path / "p.duckdb")
    assert con.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)
    con.close()


def test_db_path_precedence(monkeypatch) -> None:
    monkeypatch.delenv("PARALLAX_DB", raising=False)
    assert str(resolve_db_path(None)) == "parallax.duckdb"
    monkeypatch.setenv("PARALLAX_DB", "/tmp/env.duckdb")
    assert str(resolve_db_path(None)) == "/tmp/env.duckdb"
    assert str(resolve_db_path("cli.duckdb")) == "cli.duckdb"


def test_not_a_database_is_one_clear_error(tmp_path) -> None:
    bad = tmp_path / "notes.duckdb"
    bad.write_text("this is not a database\n" * 100)
    with pytest.raises(DatabaseError, match="notes.duckdb: cannot open database"):
        connect(bad)


def test_read_only_open_of_missing_file_is_one_clear_error(tmp_path) -> None:
    with pytest.raises(DatabaseError, match="missing.duckdb: cannot open database"):
        connect(tmp_path / "missing.duckdb", read_only=True)
