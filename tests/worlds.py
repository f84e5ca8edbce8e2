"""What the tests that build a world share: its files ingested as `parallax ingest` ingests
them, a database as if its traces had never come, and a world built once for both workers."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from parallax.connectors.load import IngestOptions
    from parallax.connectors.routes import RouteNormalizer
    from parallax.demo import DemoFiles

KINDS = ("traces", "feedback", "analytics")  # the order local ingest loads a world in


def ingest_world(con: duckdb.DuckDBPyConnection, files: DemoFiles, db: Path) -> IngestOptions:
    """Every file of the world into ``con``, the database at ``db``; the options it was loaded
    with (their key is the database's)."""
    from parallax.config import Config
    from parallax.connectors.load import ingest_files
    from parallax.options import ingest_options

    opts = ingest_options(Config(), db)
    for kind, paths in files.by_kind(KINDS):
        ingest_files(con, kind, list(paths), opts)
    return opts


def forget_spans(con: duckdb.DuckDBPyConnection, route: RouteNormalizer) -> None:
    """``con`` as if the traces had never come: no spans, none of the templates they taught,
    page views, events and feedback routed without them (``route_learning.prepare``)."""
    from parallax.connectors.route_learning import prepare

    con.execute("DELETE FROM spans")
    con.execute("DELETE FROM route_templates WHERE source = 'learned'")
    prepare(con, route)


def built_once(tmp_path_factory, name: str, build) -> Path:
    """The folder ``build(folder)`` fills, built once per test run: the first of the
    pytest-xdist workers to ask builds it under a file lock, the other waits and reuses it
    (a session fixture is otherwise built once per worker: twice where the files that use it
    ran on both). Read only: DuckDB lets one process at a time open a database file, so a
    worker copies the databases it opens (``copy_database``)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # each worker's temporary folder is one of the run's
    folder = base / f"built-{name}"
    with open(base / f"built-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".done").exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a build that failed left
            folder.mkdir()
            build(folder)
            (folder / ".done").touch()
    return folder


def copy_database(db: Path, folder: Path) -> Path:
    """``db`` and its sidecars (its pseudonym key, ``<db>.key``) copied into ``folder``."""
    for file in db.parent.glob(f"{db.name}*"):
        shutil.copyfile(file, folder / file.name)
    return folder / db.name
