"""The demo world (seed 7, 3000 sessions) ingested once per test session into a temporary
DuckDB file, with one correlate run over it and the planted truth; and one shop of the world
family (``family_run``) the same way."""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson
import pytest

from parallax.config import Config
from parallax.correlate import Run, correlate
from parallax.db import connect
from parallax.demo import build_world
from parallax.demo.family import draw_spec
from parallax.options import ingest_options
from tests.worlds import built_once, copy_database, ingest_world


@dataclass(frozen=True)
class DemoRun:
    con: duckdb.DuckDBPyConnection
    db_path: Path
    run: Run  # the first correlate run over the world
    truth: dict


def _run(tmp_path_factory, name: str, **world) -> Iterator[DemoRun]:
    """The world built, ingested and correlated once per test run (tests.worlds.built_once), and
    this worker's copy of its database, open."""

    def build(folder: Path) -> None:
        files = build_world(folder / "files", **world)
        db_path = folder / "world.duckdb"
        con = connect(db_path)
        try:
            ingest_world(con, files, db_path)
            (folder / "run.pickle").write_bytes(pickle.dumps(correlate(con)))
        finally:
            con.close()
        shutil.copyfile(files.truth, folder / "truth.json")

    shared = built_once(tmp_path_factory, name, build)
    db_path = copy_database(shared / "world.duckdb", tmp_path_factory.mktemp(name))
    con = connect(db_path)
    try:
        yield DemoRun(con, db_path, pickle.loads((shared / "run.pickle").read_bytes()),
                      orjson.loads((shared / "truth.json").read_bytes()))
    finally:
        con.close()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Iterator[DemoRun]:
    yield from _run(tmp_path_factory, "correlate-demo", seed=7, sessions=3000)


@pytest.fixture(scope="session")
def family_run(tmp_path_factory) -> Iterator[DemoRun]:
    """Shop 13 of the family (a training seed): a beacon and an async job in traces of their
    own, slug routes."""
    yield from _run(tmp_path_factory, "correlate-family", seed=13, sessions=3000,
                    spec=draw_spec(13))


@pytest.fixture(scope="session")
def selection_run(tmp_path_factory) -> Iterator[DemoRun]:
    """The demo world (seed 7, 2,000 sessions) with planted self-selection and its survey
    offers as GA4 survey_impression events."""
    from parallax.demo.selection import PlantedSelection

    yield from _run(tmp_path_factory, "correlate-selection", seed=7, sessions=2000,
                    selection=PlantedSelection())



@dataclass(frozen=True)
class TraceLake:
    reference: Path  # the small demo database exported (local ingest, then export --parquet)
    lake: Path  # its declared templates exported, then the trace file added by --to-parquet
    load: object  # that load (parallax.lake_ingest.LakeLoad)
    trace: Path
    key_of: Path  # the database whose key local ingest used


@pytest.fixture(scope="session")
def trace_lake(small_demo, spark, tmp_path_factory) -> TraceLake:
    """The small demo world's trace file mapped on Spark into a lake that holds nothing else
    the files fill (no spans, events, page views, sessions, feedback or learned route
    templates: the rest of the database exported), once per run: both lake-ingest modules
    build on it (test_lake_ingest reads it; test_lake_analytics adds to a copy). Read only."""
    from parallax.connectors.base import ParseContext
    from parallax.lake import export_parquet
    from parallax.lake_ingest import to_parquet

    root = tmp_path_factory.mktemp("trace-lake")
    shutil.copy(small_demo, root / "duck.duckdb")
    shutil.copy(small_demo, root / "rest.duckdb")
    duck, rest = connect(root / "duck.duckdb"), connect(root / "rest.duckdb")
    try:
        export_parquet(duck, root / "reference")
        for table in ("spans", "events", "page_views", "sessions", "feedback"):
            rest.execute(f"DELETE FROM {table}")
        # what the spans taught: the lake learns it again from the file
        rest.execute("DELETE FROM route_templates WHERE source = 'learned'")
        export_parquet(rest, root / "spark")
    finally:
        duck.close()
        rest.close()
    trace = small_demo.parent / "files" / "traces" / "spans.jsonl"
    opts = ingest_options(Config(), small_demo)
    ctx = ParseContext(file=str(trace), pseudonymize=opts.pseudonymize, route=opts.route)
    load = to_parquet(spark, [trace], root / "spark", ctx)
    return TraceLake(root / "reference", root / "spark", load, trace, small_demo)


@dataclass(frozen=True)
class SparkLake:
    root: Path  # reference/: trace_lake's reference lake; spark/: the lake below
    ga4: Path
    key_of: Path  # the database whose key local ingest used


@pytest.fixture(scope="session")
def spark_lake(trace_lake, spark, tmp_path_factory) -> SparkLake:
    """A lake whose spans, analytics and feedback were ingested into it, once per run: a copy
    of trace_lake (the database's route templates exported, the trace file added with
    --to-parquet on Spark), then the GA4 file added with --to-parquet on Spark, the survey
    export with --to-parquet's local mapping (survey answers need no Spark).
    test_lake_analytics compares it with the reference lake, row by row; test_spark_parity
    runs the Spark engine over it. Read only."""
    from parallax import lake_analytics, lake_feedback
    from parallax.connectors.base import ParseContext

    root = tmp_path_factory.mktemp("lake-analytics")
    shutil.copytree(trace_lake.reference, root / "reference")
    shutil.copytree(trace_lake.lake, root / "spark")
    files = trace_lake.key_of.parent / "files"
    ga4 = files / "analytics" / "ga4_events.ndjson"
    opts = ingest_options(Config(), trace_lake.key_of)
    ctx = ParseContext(file=str(ga4), pseudonymize=opts.pseudonymize, route=opts.route)
    load = lake_analytics.to_parquet(spark, [ga4], root / "spark", ctx)
    assert not load.created and load.added == load.staged != {}
    survey = files / "feedback" / "qualtrics_export.csv"
    answers = lake_feedback.to_parquet([survey], root / "spark", opts)
    assert answers.added > 100
    return SparkLake(root, ga4, trace_lake.key_of)
