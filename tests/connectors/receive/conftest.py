"""A receiver on a free loopback port, its database in a temp dir, hand-offs every 0.2 s."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from parallax.connectors.load import IngestOptions
from parallax.connectors.receive import Receiver, ServeSettings, running
from parallax.db import connect


@pytest.fixture
def settings(db_path: Path) -> ServeSettings:
    connect(db_path).close()
    return ServeSettings(db_path=db_path, handoff_seconds=0.2, batch_ms=20)


@pytest.fixture
def serve(settings: ServeSettings, opts: IngestOptions) -> Callable:
    """``with serve(**changes) as (url, receiver):`` — stopping drains into the database."""

    @contextmanager
    def start(**changes) -> Iterator[tuple[str, Receiver]]:
        receiver = Receiver(replace(settings, **changes), opts, final_wait=10)
        with running(receiver) as url:
            yield url, receiver

    return start


def query(db_path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = connect(db_path)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
