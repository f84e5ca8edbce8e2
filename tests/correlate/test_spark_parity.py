"""The join model on Spark gives what it gives on DuckDB: on the demo world, the same exposure
frames (row counts equal, numbers within 1e-9 relative) and the same findings (every verdict,
every estimate within 1e-6).

The world is the 1,000-session one (seed 7) the CLI tests share: Spark's time grows with the
rows, and at this size the findings still hold a delivery and a design verdict. Spark reads
conftest.spark_lake, the lake whose spans and analytics Spark ingested (``ingest …
--to-parquet``) and whose feedback the survey's --to-parquet mapping added: one Spark
correlate proves both that the engine computes what DuckDB computes and that a lake filled
on Spark is one it reads as the database (test_lake_ingest and test_lake_analytics show that
lake holds, row by row, what ``export --parquet`` of the database holds)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import polars as pl
import pytest

from parallax.correlate import correlate
from parallax.db import connect
from parallax.lake import TABLES

KEYS = {"exposure_responses": ["response_key"], "exposure_session_routes": ["session_id", "route"],
        "exposure_sessions": ["session_id"], "exposure_delivery": ["subject_kind", "subject"]}


@pytest.fixture(scope="module")
def runs(small_demo, spark_lake, spark, tmp_path_factory):
    """The DuckDB engine over a copy of the demo world, the Spark engine over the lake Spark
    filled from the world's files."""
    from parallax.spark_engine import SparkExposure

    root = tmp_path_factory.mktemp("spark-parity")
    shutil.copy(small_demo, root / "duck.duckdb")
    duck = connect(root / "duck.duckdb")
    local = connect(root / "spark.duckdb")  # findings only: Spark reads the Parquet tables
    try:
        duck_run = correlate(duck)
        spark_run = correlate(local, exposure=SparkExposure(spark, spark_lake.root / "spark"))
        yield duck, local, duck_run, spark_run
    finally:
        duck.close()
        local.close()


def _frame(con, table: str) -> pl.DataFrame:
    df = pl.from_arrow(con.sql(f"SELECT * FROM {table}").to_arrow_table())
    assert isinstance(df, pl.DataFrame)
    return df.sort(KEYS[table], nulls_last=True)


def _long_deps(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return (df.select([*keys, "deps"]).explode("deps").drop_nulls("deps").unnest("deps")
            .sort([*keys, "peer"]))


def _assert_same(a: pl.DataFrame, b: pl.DataFrame, where: str) -> None:
    assert a.height == b.height, where
    assert a.columns == b.columns, where
    for name in a.columns:
        x, y = a[name], b[name]
        if x.dtype.is_numeric() or x.dtype == pl.Boolean:
            xs = x.cast(pl.Float64).to_list()
            ys = y.cast(pl.Float64).to_list()
            for i, (u, v) in enumerate(zip(xs, ys, strict=True)):
                assert (u is None) == (v is None), f"{where}.{name} row {i}: {u} vs {v}"
                if u is not None and v is not None:
                    assert math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-12), \
                        f"{where}.{name} row {i}: {u} vs {v}"
        elif x.dtype == pl.List(pl.String):
            assert [sorted(v or []) for v in x.to_list()] == \
                [sorted(v or []) for v in y.to_list()], f"{where}.{name}"
        else:
            assert x.to_list() == y.to_list(), f"{where}.{name}"


@pytest.mark.parametrize("table", list(KEYS))
def test_exposure_frames_match(runs, table):
    duck, local, *_ = runs
    a, b = _frame(duck, table), _frame(local, table)
    assert a.height > 0
    flat = [c for c in a.columns if c != "deps"]
    _assert_same(a.select(flat), b.select(flat), table)
    if "deps" in a.columns:
        long_a, long_b = _long_deps(a, KEYS[table]), _long_deps(b, KEYS[table])
        assert long_a.height > 0
        _assert_same(long_a, long_b, f"{table}.deps")


def _close(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            _close(u, v, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, int | float) and not isinstance(b, bool):
        assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) or (
            math.isnan(a) and math.isnan(b)), f"{where}: {a} vs {b}"
    elif where.endswith(".evidence") and isinstance(a, str):
        pass  # a sentence that quotes the numbers compared above
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def test_findings_match(runs):
    *_, duck_run, spark_run = runs
    assert duck_run.coverage == spark_run.coverage
    assert duck_run.modelled == spark_run.modelled
    a = {(f.subject_kind, f.subject): f.to_json() for f in duck_run.findings}
    b = {(f.subject_kind, f.subject): f.to_json() for f in spark_run.findings}
    assert a.keys() == b.keys() and len(a) > 5
    assert {k: f["verdict"] for k, f in a.items()} == {k: f["verdict"] for k, f in b.items()}
    assert {f["verdict"] for f in a.values()} >= {"delivery", "design"}
    for key, finding in a.items():
        _close(finding, b[key], "/".join(key))


def test_without_offers_neither_engine_checks_who_answered(runs):
    """The demo world records no survey offers: no selection key on either engine, in the
    run, its parameters, the stored row or any finding."""
    *_, local, duck_run, spark_run = runs
    for run in (duck_run, spark_run):
        assert run.selection is None and "selection" not in run.parameters
        assert not any("selection" in f.details for f in run.findings)
    assert local.execute("SELECT selection FROM correlate_runs WHERE run_id = ?",
                         [spark_run.run_id]).fetchall() == [(None,)]


def test_findings_stored_in_the_local_file(runs):
    _, local, _, spark_run = runs
    stored = local.execute("SELECT count(*) FROM findings WHERE run_id = ?",
                           [spark_run.run_id]).fetchall()[0][0]
    assert stored == len(spark_run.findings)


def test_tables_folder_must_hold_every_table(spark, tmp_path: Path):
    from parallax.errors import ConfigError
    from parallax.spark_engine import SparkExposure

    (tmp_path / "spans").mkdir()
    with pytest.raises(ConfigError, match="no page_views/ folder"):
        SparkExposure(spark, tmp_path)
    for table in TABLES:
        (tmp_path / table).mkdir(exist_ok=True)
    with pytest.raises(ConfigError, match=r"spans: not a Parquet table Spark can read"):
        SparkExposure(spark, tmp_path)


def test_a_local_session_leaves_no_warehouse_folder_behind(spark):
    """Spark creates its warehouse folder when a session starts; Parallax keeps no managed
    tables, so a local session's goes to a scratch folder, not the user's working directory."""
    warehouse = spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:")
    assert not Path(warehouse).resolve().is_relative_to(Path.cwd().resolve())
