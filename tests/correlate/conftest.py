"""The demo world (seed 7, 3000 sessions) ingested once per test session into a temporary
DuckDB file, with one correlate run over it and the planted truth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson
import pytest

from parallax.config import Config
from parallax.connectors.load import ingest_files
from parallax.correlate import Run, correlate
from parallax.db import connect
from parallax.demo import build_world
from parallax.options import ingest_options


@dataclass(frozen=True)
class DemoRun:
    con: duckdb.DuckDBPyConnection
    db_path: Path
    run: Run  # the first correlate run over the world
    truth: dict


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Iterator[DemoRun]:
    root = tmp_path_factory.mktemp("correlate-demo")
    files = build_world(root / "files", seed=7, sessions=3000)
    db_path = root / "demo.duckdb"
    con = connect(db_path)
    opts = ingest_options(Config(), db_path)
    for kind, paths in (("traces", files.traces), ("feedback", files.feedback),
                        ("analytics", files.analytics)):
        ingest_files(con, kind, list(paths), opts)
    try:
        yield DemoRun(con, db_path, correlate(con), orjson.loads(files.truth.read_bytes()))
    finally:
        con.close()
