"""Opening a database creates or migrates the schema, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from parallax.db import connect, fetch_dicts, resolve_db_path
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


def test_json_columns_of_a_database_made_before_013_move_to_zstd_with_their_rows(tmp_path):
    import duckdb

    from parallax.db import migrate

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations "
                "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)")
    schema = Path(__file__).parents[2] / "models" / "schema"
    for f in sorted(schema.glob("0*.sql")):
        if int(f.name[:3]) < 13:
            con.execute(f.read_text())
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())",
                        [int(f.name[:3]), f.stem[4:]])
    con.execute("INSERT INTO spans (trace_id, span_id, kind, started_at, is_error, attributes, "
                "source, load_id) VALUES ('t', 's', 'server', now(), false, "
                "'{\"http.route\": \"/a\"}', 'otlp-jsonl', 'L')")
    con.execute("INSERT INTO events VALUES ('k', 'S', now(), 'page_view', '/a', '{\"x\": 1}', "
                "'ga4-ndjson', 'L', 'https://shop.example/a')")
    assert migrate(con)[0] == "013_json_zstd.sql"  # later migrations follow it
    assert con.execute("SELECT attributes->>'$.\"http.route\"' FROM spans").fetchall() == [("/a",)]
    assert con.execute("SELECT properties->>'$.x', url FROM events").fetchall() == [
        ("1", "https://shop.example/a")]
    con.execute("CHECKPOINT")
    compression = dict(con.execute(
        "SELECT column_name, compression FROM pragma_storage_info('spans') "
        "WHERE column_name IN ('attributes', 'resource') AND segment_type = 'JSON' "
        "UNION ALL SELECT column_name, compression FROM pragma_storage_info('events') "
        "WHERE column_name = 'properties' AND segment_type = 'JSON'").fetchall())
    assert compression == {"attributes": "ZSTD", "resource": "ZSTD", "properties": "ZSTD"}
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


# Every kind of column a query can return; fetch_dicts must give what Arrow gives, value for
# value and type for type (the CLI's tables and JSON were written from Arrow's values).
_COLUMNS = {
    "int": "5::INTEGER", "bigint": "5::BIGINT", "ubigint": "5::UBIGINT",
    "hugeint": "12345::HUGEINT", "uhugeint": "12345::UHUGEINT",
    "hugeint_wide": "(2::HUGEINT ** 100)::HUGEINT", "decimal": "1.25::DECIMAL(10, 2)",
    "float": "0.1::FLOAT", "double": "0.1::DOUBLE", "nan": "'nan'::DOUBLE",
    "bool": "true", "varchar": "'x'", "json": "'{\"a\": 1}'::JSON", "blob": "'\\xAA'::BLOB",
    "enum": "'a'::ENUM('a', 'b')", "uuid": "'5b65e3d5-df08-42f3-9b37-a03c010ce2d6'::UUID",
    "date": "DATE '2026-10-05'", "time": "TIME '12:00:01'",
    "timestamp": "TIMESTAMP '2026-10-05 12:00:00.123456'",
    "timestamptz": "TIMESTAMPTZ '2026-10-05 12:00:00+02'",
    "timestamp_s": "TIMESTAMP_S '2026-10-05 12:00:00'",
    "timestamp_ms": "TIMESTAMP_MS '2026-10-05 12:00:00.123'",
    "list": "['a', NULL]", "struct": "{'a': 1, 'b': [DATE '2026-10-05']}",
    # through Arrow: no plain Python value is the same
    "interval": "INTERVAL 90 MINUTE", "map": "MAP {'k': 1}", "array": "[1, 2]::INTEGER[2]",
    "timestamp_ns": "TIMESTAMP_NS '2026-10-05 12:00:00.123456789'",
    "timetz": "TIMETZ '12:00:01+02'",
    "nested_hugeint": "[{'a': 1::HUGEINT}]", "nested_uuid": "[gen_random_uuid()]",
}


def _shape(v):
    if isinstance(v, dict):
        return {k: _shape(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return type(v), [_shape(x) for x in v]
    return type(v), v if v == v else "nan"


@pytest.mark.parametrize("expr", _COLUMNS.values(), ids=_COLUMNS.keys())
def test_fetch_dicts_gives_what_arrow_gives(tmp_path, expr) -> None:
    con = connect(tmp_path / "p.duckdb")
    con.execute(f"CREATE TABLE t AS SELECT {expr} AS v, 1 AS k UNION ALL SELECT NULL, 2")
    table = con.sql("SELECT * FROM t ORDER BY k").to_arrow_table()
    columns, rows = fetch_dicts(con.sql("SELECT * FROM t ORDER BY k"))
    assert columns == table.column_names == ["v", "k"]
    assert _shape(rows) == _shape(table.to_pylist())
    con.close()


def test_a_new_database_and_its_wal_are_the_owners_alone(tmp_path) -> None:
    import os
    import stat

    from parallax.cli import private_files

    old = os.umask(0o022)
    try:
        path = tmp_path / "p.duckdb"
        connect(path).close()  # as a library: the file is chmodded
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        private_files()  # as the CLI: the umask covers what DuckDB creates later
        assert os.umask(0o077) == 0o077
        con = connect(tmp_path / "q.duckdb")
        try:
            con.execute("CREATE TABLE t AS SELECT 'ann@example.com' AS v")
            created = [p for p in tmp_path.iterdir() if p.name.startswith("q.duckdb")]
            assert any(p.name == "q.duckdb.wal" for p in created)
            assert {stat.S_IMODE(p.stat().st_mode) for p in created} == {0o600}
        finally:
            con.close()
    finally:
        os.umask(old)


def test_the_cli_keeps_a_stricter_umask(tmp_path) -> None:
    import os

    from parallax.cli import private_files

    old = os.umask(0o277)
    try:
        private_files()
        assert os.umask(0o022) == 0o277
    finally:
        os.umask(old)


def test_transaction_commits_a_block_and_rolls_back_a_failed_one() -> None:
    import duckdb
    import pytest

    from parallax.db import transaction

    con = duckdb.connect()
    con.execute("CREATE TABLE t (x INTEGER)")
    with transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
    for error in (ValueError, KeyboardInterrupt):  # Ctrl-C leaves nothing half-written either
        with pytest.raises(error), transaction(con):
            con.execute("INSERT INTO t VALUES (2)")
            raise error
    assert con.execute("SELECT list(x) FROM t").fetchall() == [([1],)]
    with transaction(con):  # and the connection is usable afterwards
        con.execute("INSERT INTO t VALUES (3)")
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(2,)]
