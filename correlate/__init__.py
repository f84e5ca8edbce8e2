"""Statistics over the compact exposure tables: attribution, verdicts, impact.

    from parallax.correlate import correlate
    run = correlate(con)            # builds the join model, fits, stores findings
    [f.to_json() for f in run.findings]

The names below are imported on first use: ``parallax.correlate.settings`` (which every
command reading ``[correlate]`` needs) must not pull in numpy, polars and statsmodels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parallax.correlate.findings import VERDICTS, Finding
    from parallax.correlate.run import Run, correlate
    from parallax.correlate.settings import Settings
    from parallax.exposure import JoinSettings

__all__ = ["VERDICTS", "Finding", "JoinSettings", "Run", "Settings", "correlate"]

_WHERE = {"VERDICTS": "parallax.correlate.findings", "Finding": "parallax.correlate.findings",
          "Run": "parallax.correlate.run", "correlate": "parallax.correlate.run",
          "Settings": "parallax.correlate.settings", "JoinSettings": "parallax.exposure"}


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
