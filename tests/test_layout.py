"""Code imports the installed names (`parallax.connectors`, …), never the bare top-level folder
names, which exist only in a development checkout and would load modules twice."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BARE = re.compile(
    r"^\s*(?:from|import)\s+(connectors|models|correlate|queries|demo|report)\b", re.M)


def test_no_bare_top_level_imports() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("parallax", "connectors", "models", "correlate", "queries", "demo",
                       "report", "tests", "bench", "eval")
        if (ROOT / folder).is_dir()
        for p in (ROOT / folder).rglob("*.py")
        if BARE.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_sql_files_have_a_header_comment() -> None:
    missing = [
        str(p.relative_to(ROOT))
        for folder in ("models", "queries")
        for p in (ROOT / folder).rglob("*.sql")
        if not p.read_text(encoding="utf-8").lstrip().startswith("--")
    ]
    assert missing == []
