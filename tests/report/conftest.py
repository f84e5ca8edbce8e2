"""A demo world, ingested and reviewed once per test session: the database, the report page
and the findings it must agree with."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from parallax.cli import run
from parallax.db import connect
from parallax.named_queries import run_query


@dataclass(frozen=True)
class Reviewed:
    db: Path
    html: Path
    findings: list[dict]
    run_id: str


@pytest.fixture(scope="session")
def reviewed(demo_db, tmp_path_factory) -> Reviewed:
    """The shared demo database (``demo_db``: 1,500 sessions, built once) copied, then reviewed."""
    tmp = tmp_path_factory.mktemp("review")
    db, html = tmp / "p.duckdb", tmp / "report.html"
    for suffix in ("", ".key"):  # the database and its pseudonym key
        source = Path(f"{demo_db}{suffix}")
        if source.exists():
            shutil.copy(source, f"{db}{suffix}")
    assert run(["--db", str(db), "review", "--out", str(html)]) == 0
    con = connect(db, read_only=True)
    try:
        rows = run_query(con, "findings", {"run_id": None}).fetchall()
    finally:
        con.close()
    return Reviewed(db, html, [orjson.loads(doc) for *_, doc in rows], rows[0][0])
