"""export --parquet: the canonical tables as day-partitioned Parquet, whole or not at all."""

from __future__ import annotations

import duckdb
import pyarrow.dataset as ds
import pytest

from parallax.cli import run
from parallax.errors import ConfigError
from parallax.lake import LEDGER, ROUTE_STATE, TABLES, export_parquet


def _load(con):
    con.execute("INSERT INTO spans (trace_id, span_id, name, kind, started_at, duration_ms, "
                "is_error, source, load_id) "
                "SELECT 't' || i, 's' || i, 'GET /', 'server', ts, 5, false, 'otlp-json', 'l1' "
                "FROM (VALUES (1, TIMESTAMPTZ '2026-10-05 23:30:00+00'), "
                "(2, TIMESTAMPTZ '2026-10-06 00:10:00+02'), "
                "(3, TIMESTAMPTZ '2026-10-06 08:00:00+00')) AS v(i, ts)")
    con.execute("INSERT INTO sessions (session_id, started_at, source, load_id) "
                "VALUES ('a', TIMESTAMPTZ '2026-10-06 08:00:00+00', 'ga4', 'l1')")


def test_tables_partitioned_by_utc_day(con, tmp_path):
    _load(con)
    out = tmp_path / "lake"
    summary = export_parquet(con, out)
    assert summary.rows["spans"] == 3 and summary.rows["sessions"] == 1
    assert summary.rows["feedback"] == 0 and summary.days == 2
    assert sorted(p.name for p in (out / "spans").iterdir()) == ["day=2026-10-05",
                                                                 "day=2026-10-06"]
    assert {p.name for p in out.iterdir()} == {*TABLES, LEDGER, ROUTE_STATE}
    back = duckdb.connect().execute(
        "SELECT trace_id, day FROM read_parquet(?, hive_partitioning = true) ORDER BY trace_id",
        [str(out / "spans" / "**" / "*.parquet")]).fetchall()
    # 00:10 at +02:00 is 22:10 UTC the day before
    assert [(t, str(d)) for t, d in back] == [("t1", "2026-10-05"), ("t2", "2026-10-05"),
                                              ("t3", "2026-10-06")]
    spans = ds.dataset(out / "spans", format="parquet", partitioning="hive").to_table()
    assert set(spans.column_names) >= {"trace_id", "started_at", "duration_ms", "day"}


def test_existing_folder_refused_then_replaced_whole(con, tmp_path):
    _load(con)
    out = tmp_path / "lake"
    export_parquet(con, out)
    with pytest.raises(ConfigError, match="already exists"):
        export_parquet(con, out)
    con.execute("DELETE FROM spans WHERE trace_id = 't1'")
    assert export_parquet(con, out, replace=True).rows["spans"] == 2
    assert sorted(p.name for p in (out / "spans").iterdir()) == ["day=2026-10-05",
                                                                 "day=2026-10-06"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_failed_export_leaves_nothing(con, tmp_path, monkeypatch):
    _load(con)
    import parallax.lake as lake

    monkeypatch.setattr(lake, "TABLES", {**lake.TABLES, "no_such_table": None})
    with pytest.raises(duckdb.CatalogException):
        export_parquet(con, tmp_path / "lake")
    assert not (tmp_path / "lake").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_the_ledger_is_exported_with_the_tables(con, tmp_path):
    """The database's loads table goes to DIR/loads/ (a lake ingest adds its own rows there),
    every column as the migration declares it."""
    from parallax.lake import ledger_sql

    con.execute("INSERT INTO loads VALUES ('l1', 'file', 'traces', 'a.jsonl', 'ab', "
                "'otlp-jsonl', TIMESTAMPTZ '2026-10-06 08:00:00+00', NULL, 'ok', NULL, "
                "3, 2, 1, 0)")
    summary = export_parquet(con, tmp_path / "lake")
    assert summary.rows[LEDGER] == 1
    back = duckdb.connect()
    back.execute("SET TimeZone = 'UTC'")
    got = back.execute("SELECT * FROM read_parquet(?)",
                       [str(tmp_path / "lake" / LEDGER / "*.parquet")]).fetchall()
    assert got == con.execute("SELECT * FROM loads").fetchall()
    assert "CREATE TABLE loads (" in ledger_sql() and "rows_rejected" in ledger_sql()


def test_cli_export(db_path, con, tmp_path, capsys):
    _load(con)
    con.close()
    assert run(["--db", str(db_path), "export", "--parquet", str(tmp_path / "lake")]) == 0
    assert "spans 3" in capsys.readouterr().out
    assert run(["--db", str(db_path), "export", "--parquet", str(tmp_path / "lake")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_a_lake_load_builds_a_missing_lake_aside_and_moves_it_in_whole(tmp_path):
    """lake_load (every lake ingest): a missing folder becomes a whole lake only when the load
    ends without an error; a folder that is not a lake is refused; nothing is left beside."""
    from parallax.lake import lake_load

    def beside() -> list[str]:
        return sorted(p.name for p in tmp_path.iterdir())

    with pytest.raises(RuntimeError), lake_load(tmp_path / "lake", ["feedback"]) as target:
        assert target.created and target.lake.is_relative_to(target.staging)
        assert (target.lake / "feedback").is_dir()
        raise RuntimeError("the load failed")
    assert beside() == []
    with lake_load(tmp_path / "lake", ["feedback"]) as target:
        (target.staging / "new").mkdir()
    assert beside() == ["lake"] and sorted(p.name for p in (tmp_path / "lake").iterdir()) == \
        sorted([*TABLES, LEDGER, ROUTE_STATE])
    with lake_load(tmp_path / "lake", ["feedback", "events"]) as target:
        assert not target.created and target.lake == tmp_path / "lake"
    (tmp_path / "other").mkdir()
    with pytest.raises(ConfigError, match=r"other: not a Parquet lake \(no feedback/ or "
                       r"events/ folder"), lake_load(tmp_path / "other", ["feedback", "events"]):
        pass
    assert beside() == ["lake", "other"]


def test_survey_offers_are_exported_by_utc_day(con, tmp_path):
    """Offers from sources without an analytics event stream (survey_offers) go to the lake
    by the UTC day of offered_at, every column as stored: the self-selection check reads
    them on Spark too."""
    con.execute("INSERT INTO survey_offers VALUES "
                "('o1', 'posthog', 'nps', 's1', 'u1', TIMESTAMPTZ '2026-10-05 23:30:00+00', "
                "'https://x.test/a', '/a', 'l1'), "
                "('o2', 'posthog', 'nps', 's2', NULL, TIMESTAMPTZ '2026-10-06 01:10:00+02', "
                "NULL, NULL, 'l1')")
    summary = export_parquet(con, tmp_path / "lake")
    assert summary.rows["survey_offers"] == 2
    assert sorted(p.name for p in (tmp_path / "lake" / "survey_offers").iterdir()) == \
        ["day=2026-10-05"]  # 01:10 at +02:00 is 23:10 UTC the day before
    back = duckdb.connect()
    back.execute("SET TimeZone = 'UTC'")
    got = back.execute("SELECT * EXCLUDE (day) FROM read_parquet(?, hive_partitioning = true) "
                       "ORDER BY offer_key",
                       [str(tmp_path / "lake" / "survey_offers" / "*" / "*.parquet")]).fetchall()
    assert got == con.execute("SELECT * FROM survey_offers ORDER BY offer_key").fetchall()


def test_a_table_added_to_the_layout_later_has_the_migrations_columns(con):
    from parallax.lake import ADDED_LATER, empty_table

    for table in ADDED_LATER:
        empty = empty_table(table)
        assert empty.num_rows == 0
        stored = [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position", [table]).fetchall()]
        assert empty.column_names == stored
