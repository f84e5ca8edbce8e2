"""The package type-checks: mypy on ``parallax`` as installed (.ci/typecheck.py) finds nothing, so
the suite (the CI command) fails on a type error as on a failing test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_errors() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed (it is in the dev group: "
                                       "uv sync --all-groups)")
    done = subprocess.run([sys.executable, str(ROOT / ".ci" / "typecheck.py")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
