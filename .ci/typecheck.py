"""Type-check the package as it is installed: mypy on ``parallax``.

The design card fixes the top-level folders (connectors/, models/, correlate/, …); the wheel
ships them as subpackages of ``parallax``, and in the checkout ``parallax/connectors`` etc. are
links to them, so the checkout already has the installed shape: mypy (and editors, and any tool
that resolves imports from folders) follows ``parallax.connectors`` with no run-time help.
Paths in the report are the folders' own (``connectors/load.py``, not
``parallax/connectors/load.py``).

    uv run python .ci/typecheck.py [extra mypy arguments]

Exit status is mypy's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def linked_folders() -> list[str]:
    """The top-level folders ``parallax/`` links to (``connectors``, ``models``, …)."""
    return sorted(p.name for p in (ROOT / "parallax").iterdir() if p.is_symlink())


def main(argv: list[str]) -> int:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(ROOT / ".mypy_cache"), "-p", "parallax", *argv],
        cwd=ROOT, capture_output=True, text=True)
    inside = tuple(f"parallax/{name}/" for name in linked_folders())
    for line in done.stdout.splitlines():
        print(line.removeprefix("parallax/") if line.startswith(inside) else line)
    sys.stderr.write(done.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
