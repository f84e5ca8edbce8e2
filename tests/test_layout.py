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


def test_the_checkout_has_the_installed_layout() -> None:
    """``parallax/connectors`` etc. link the top-level folders, so the editable install, mypy
    and editors resolve ``parallax.connectors`` from files, with no run-time path hook."""
    import importlib.util

    for folder in ("connectors", "models", "correlate", "queries", "demo", "report"):
        link = ROOT / "parallax" / folder
        assert link.is_symlink() and link.resolve() == ROOT / folder, folder
    assert "__path__" not in (ROOT / "parallax" / "__init__.py").read_text(encoding="utf-8")
    spec = importlib.util.find_spec("parallax.connectors.load")
    assert spec is not None and spec.origin == str(ROOT / "parallax" / "connectors" / "load.py")
