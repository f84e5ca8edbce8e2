"""Shared test fixtures: a real DuckDB file in a temp dir, ingest options with a fixed key,
and the byte-exact vendor samples (tests/fixtures/vendor, copied from ../shared/fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parallax.connectors.load import IngestOptions
from parallax.connectors.privacy import Pseudonymizer
from parallax.connectors.routes import RouteNormalizer
from parallax.db import connect

VENDOR = Path(__file__).parent / "fixtures" / "vendor"
TEST_KEY = b"parallax-test-key-0123456789abcdef"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture
def con(db_path: Path):
    c = connect(db_path)
    yield c
    c.close()


@pytest.fixture
def pseudonymize() -> Pseudonymizer:
    return Pseudonymizer(TEST_KEY)


@pytest.fixture
def opts(pseudonymize: Pseudonymizer) -> IngestOptions:
    return IngestOptions(pseudonymize=pseudonymize, route=RouteNormalizer())


@pytest.fixture
def vendor() -> Path:
    return VENDOR
