"""Code imports the installed names (`parallax.connectors`, …), never the bare top-level folder
names, which exist only in a development checkout and would load modules twice."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_SPEC = importlib.util.spec_from_file_location("ci_layout", ROOT / ".ci" / "layout.py")
layout = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(layout)
FIX = "uv run python .ci/layout.py --write"
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


def test_the_readme_layout_is_the_one_generated_from_the_tree() -> None:
    have = layout.readme_block((ROOT / "README.md").read_text(encoding="utf-8"))
    assert have == layout.layout(), (
        f"README.md's Layout block differs from the tree: run `{FIX}` and commit README.md")


def test_the_layout_names_every_room_folder_and_doc() -> None:
    block = layout.layout()
    shown = {m.group(1) for m in re.finditer(r"^ *(\S+/|\S+\.(?:py|md)) ", block, re.M)}
    tops = [ROOT / n for n in ("parallax", "connectors", "models", "correlate", "queries",
                               "report", "demo", "tests", "bench", "eval", "docs")]
    # every folder of the package folders (parallax/connectors etc. are links to the tops)
    rooms = [d for top in tops[:7] for d in top.rglob("*")
             if d.is_dir() and not d.is_symlink() and d.name != "__pycache__"]
    basics = [p for p in (ROOT / "parallax").glob("*.py") if p.name != "__init__.py"]
    docs = list((ROOT / "docs").glob("*.md"))
    assert len(docs) >= 8 and {"insights", "contacts", "quality", "records", "commands"} <= {
        d.name for d in rooms if d.parent == ROOT / "parallax"}
    missing = [str(p.relative_to(ROOT)) for p in [*tops, *rooms]
               if f"{p.name}/" not in shown]
    missing += [str(p.relative_to(ROOT)) for p in [*basics, *docs] if p.name not in shown]
    assert missing == []


def test_a_folder_that_says_nothing_stops_the_generator(tmp_path, monkeypatch) -> None:
    """A new room cannot go unlisted: without a docstring (or, for a folder without Python, an
    item in its package's docstring) the generator refuses, naming the folder."""
    (tmp_path / "parallax" / "fresh").mkdir(parents=True)
    (tmp_path / "parallax" / "__init__.py").write_text('"""The package."""\n')
    (tmp_path / "parallax" / "fresh" / "__init__.py").write_text("")
    monkeypatch.setattr(layout, "ROOT", tmp_path)
    with pytest.raises(SystemExit, match="parallax/fresh/__init__.py has no docstring"):
        layout.layout()
    (tmp_path / "parallax" / "fresh" / "__init__.py").write_text('"""Fresh things."""\n')
    (tmp_path / "parallax" / "fresh" / "data").mkdir()
    with pytest.raises(SystemExit, match="nothing says what parallax/fresh/data/ holds"):
        layout.layout()
    (tmp_path / "parallax" / "fresh" / "__init__.py").write_text(
        '"""Fresh things.\n\n- ``data/``: their ``rows``\n"""\n')
    assert layout.layout() == ("parallax/               The package.\n"
                               "  fresh/                Fresh things.\n"
                               "    data/               their `rows`\n")
