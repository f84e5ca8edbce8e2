"""Type-check the package as the wheel lays it out.

The design card fixes the top-level folders (connectors/, models/, correlate/, …); the wheel
ships them as subpackages of ``parallax`` (pyproject's wheel ``sources``).
mypy resolves modules from folders, so it checks a copy of the tree in that shape, made in a
temporary folder from the same mapping, with pyproject's ``[tool.mypy]`` settings. Paths in the
report are the checkout's (``connectors/load.py``, not ``parallax/connectors/load.py``).

    uv run python .ci/typecheck.py [extra mypy arguments]

Exit status is mypy's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wheel_sources() -> dict[str, str]:
    """Checkout folder -> folder inside the wheel, as the build maps them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(config["tool"]["hatch"]["build"]["targets"]["wheel"]["sources"])


def lay_out(dest: Path) -> dict[str, str]:
    """Copy the package into ``dest`` in the wheel's shape; return wheel path -> checkout path."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "parallax", dest / "parallax", ignore=skip)
    back = {}
    for src, dst in wheel_sources().items():
        shutil.copytree(ROOT / src, dest / dst, ignore=skip)
        back[dst.rstrip("/") + "/"] = src.rstrip("/") + "/"
    return back


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="parallax-types-") as tmp:
        back = lay_out(Path(tmp))
        done = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
             "--cache-dir", str(ROOT / ".mypy_cache"), "-p", "parallax", *argv],
            cwd=tmp, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        for wheel_path, checkout_path in back.items():
            if line.startswith(wheel_path):
                line = checkout_path + line[len(wheel_path):]
                break
        print(line)
    sys.stderr.write(done.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
