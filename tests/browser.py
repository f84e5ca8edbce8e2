"""What the browser tests share: Debian's Chromium driven by Playwright, and one clear reason
to skip when either is missing (a fresh checkout has neither; `.ci/run` installs both)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
HOW = ("browser test: needs Debian's Chromium (`apt-get install chromium`) and Playwright "
       "(`uv sync --group browser`)")


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{HOW}; {CHROMIUM} is missing"
    if importlib.util.find_spec("playwright") is None:
        return f"{HOW}; playwright is not installed"
    return None


def require_browser() -> None:
    """Skip the calling test (or fixture) with one clear reason when there is no browser."""
    reason = missing()
    if reason:
        pytest.skip(reason)


def launch(p):
    """Chromium through a running ``sync_playwright()``: Debian's binary, never a download."""
    return p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
