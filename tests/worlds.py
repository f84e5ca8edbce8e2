"""What the tests that build a world share: its files ingested as `parallax ingest` ingests
them, and a database as if its traces had never come."""

from __future__ import annotations

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
