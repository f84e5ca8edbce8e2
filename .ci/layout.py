"""The README's "Layout" block, generated from the tree.

Each line is a folder, room or module and what it holds, read from next to the code: a package's
line is the first sentence of its ``__init__`` docstring, a module's the first sentence of its
docstring (listed for the ``parallax/`` root only, the basics), a folder without Python (SQL, the
lexicons, templates) is described by a ``- ``name/``: …`` item of its parent package's docstring,
a doc by its title. A folder that says nothing is an error, so a new room cannot go unlisted.

    uv run python .ci/layout.py           # print the block
    uv run python .ci/layout.py --write   # put it into README.md

tests/test_layout.py fails when README.md's block differs from this output.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
WIDTH = 100
COLUMN = 24  # where descriptions start
# The reading order of the top-level folders; any other folder is listed after them, by name.
ORDER = ("parallax", "connectors", "models", "correlate", "queries", "report", "demo", "tests",
         "bench", "eval", "docs")
# Folders that are not Python packages, so have no docstring to say what they hold.
PLAIN = {
    "tests": "mirrors the tree (tests/parallax/insights/ tests parallax/insights/, …); "
             "fixtures/vendor holds byte-exact public samples",
    "bench": "benchmarks (not tests): each script's docstring says what it measures and how",
    "eval": "evaluations (not tests): verdicts, contact-centre figures, incident and "
            "design-check, run on demo worlds over seeds and scored against their planted truth",
    "docs": "one page per subject, for users and reviewers:",
}
SKIP = {"__pycache__", "node_modules"}
_ITEM = re.compile(r"^- ``([\w.-]+)/``: (.+)$")


def first_sentence(text: str) -> str:
    """The first sentence of a docstring's first paragraph, on one line, rST quotes made plain.

    A sentence longer than two lines of the block stops at its first clause (before ``:``,
    ``;`` or a dash), which is the summary the rest of it details."""
    paragraph = " ".join(text.strip().split("\n\n", 1)[0].split())
    end = re.search(r"(?<!e\.g)(?<!i\.e)[.!?](?=\s|$)", paragraph)
    sentence = paragraph[:end.end()] if end else paragraph
    if len(sentence) > 2 * (WIDTH - COLUMN):
        clause = re.search(r".{30,}?(?=[:;] | — )", sentence)
        sentence = clause.group(0) if clause else sentence
    return plain(sentence)


def plain(text: str) -> str:
    return text.replace("``", "`")


def docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def folder_items(package: Path) -> dict[str, str]:
    """``- ``name/``: text`` items of a package docstring (continuation lines indented)."""
    items: dict[str, str] = {}
    name = None
    for line in docstring(package / "__init__.py").splitlines():
        hit = _ITEM.match(line)
        if hit:
            name = hit.group(1)
            items[name] = plain(hit.group(2))
        elif name and line.startswith("  ") and line.strip():
            items[name] += " " + plain(line.strip())
        else:
            name = None
    return items


def _line(indent: int, name: str, text: str) -> list[str]:
    head = " " * indent + name
    lead = head.ljust(COLUMN - 1) + " " if len(head) < COLUMN - 1 else head + "  "
    return textwrap.wrap(text, WIDTH, initial_indent=lead, subsequent_indent=" " * COLUMN,
                         break_on_hyphens=False) or [head]


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()
                  and p.name not in SKIP and not p.name.startswith("."))


def _says(package: Path) -> str:
    """What a package holds: its ``__init__`` docstring's first sentence (required)."""
    text = first_sentence(docstring(package / "__init__.py"))
    if not text:
        raise SystemExit(f"layout: {package.relative_to(ROOT)}/__init__.py has no docstring to "
                         "say what it holds")
    return text


def _package(folder: Path, indent: int, modules: bool) -> list[str]:
    """A package's rooms (and, with ``modules``, its modules), each with its line."""
    lines: list[str] = []
    if modules:
        for mod in sorted(folder.glob("*.py")):
            if mod.name != "__init__.py":
                lines += _line(indent, mod.name, first_sentence(docstring(mod)))
    described = folder_items(folder)
    for sub in _subfolders(folder):
        if (sub / "__init__.py").is_file():
            lines += _line(indent, sub.name + "/", _says(sub))
            lines += _package(sub, indent + 2, modules=False)
        elif sub.name in described:
            lines += _line(indent, sub.name + "/", described[sub.name])
        else:
            raise SystemExit(f"layout: nothing says what {sub.relative_to(ROOT)}/ holds: add a "
                             f"'- ``{sub.name}/``: …' item to {folder.relative_to(ROOT)}"
                             "/__init__.py's docstring")
    return lines


def layout() -> str:
    """The Layout block's text (without the fences)."""
    tops = [p.name for p in _subfolders(ROOT)]
    order = [n for n in ORDER if n in tops] + sorted(n for n in tops if n not in ORDER)
    lines: list[str] = []
    for name in order:
        folder = ROOT / name
        if (folder / "__init__.py").is_file():
            lines += _line(0, name + "/", _says(folder))
            lines += _package(folder, 2, modules=name == "parallax")
        elif name in PLAIN:
            lines += _line(0, name + "/", PLAIN[name])
            if name == "docs":
                for doc in sorted(folder.glob("*.md")):
                    title = doc.read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
                    lines += _line(2, doc.name, title)
        else:
            raise SystemExit(f"layout: nothing says what {name}/ holds: make it a package with "
                             "a docstring or describe it in .ci/layout.py's PLAIN")
    return "\n".join(lines) + "\n"


_BLOCK = re.compile(r"(^## Layout\n\n```\n)(.*?)(^```\n)", re.S | re.M)


def readme_block(text: str) -> str:
    """The Layout block of README text, as it stands."""
    hit = _BLOCK.search(text)
    if hit is None:
        raise SystemExit("layout: README.md has no '## Layout' section opening with a ``` block")
    return hit.group(2)


def main(argv: list[str]) -> int:
    block = layout()
    if argv == ["--write"]:
        text = README.read_text(encoding="utf-8")
        readme_block(text)  # refuses a README without the section
        README.write_text(_BLOCK.sub(lambda m: m.group(1) + block + m.group(3), text, count=1),
                          encoding="utf-8")
    elif argv:
        print(__doc__, file=sys.stderr)
        return 2
    else:
        sys.stdout.write(block)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
