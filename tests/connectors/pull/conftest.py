"""Pull tests: a loopback HTTP server (pytest-httpserver) replays vendor responses; sleeps are
recorded, not slept, so retries and polls cost nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parallax.connectors.pull import RetryPolicy, pull
from parallax.connectors.pull.vendors import build_spec

NOW = datetime(2026, 11, 10, tzinfo=UTC)
SECRET = "s3cr3t-T0KEN-never-stored"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def policy(sleeps: list[float]) -> RetryPolicy:
    return RetryPolicy(attempts=4, base=0.01, sleep=sleeps.append, jitter=lambda: 0.5)


@pytest.fixture
def run(con, opts, policy, httpserver):
    """run(section, name="src", **pull kwargs) → PullResult, against the loopback server."""
    def _run(section: dict, name: str = "src", **kw):
        section = {"base_url": httpserver.url_for("/").rstrip("/"), **section}
        kw.setdefault("now", NOW)
        kw.setdefault("policy", policy)
        return pull(con, build_spec(name, section), opts, **kw)
    return _run


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def cursor(con, name: str = "src") -> str | None:
    found = rows(con, f"SELECT cursor FROM source_state WHERE source = '{name}'")
    return found[0][0] if found else None
