"""Pull connectors: vendor APIs and drop folders → the same mapping as file ingest.

Sources are declarations (``spec.SourceSpec``, one small module per vendor in ``vendors/``)
driven by one fetch loop (``fetch``) over httpx with one retry policy (``retry``) and a set
of paginators (``paginators``). Each fetched page is spooled to a file in the vendor's own
format and loaded by ``parallax.connectors.load.ingest_files`` in one transaction together
with the source's cursor (``state``), so a pull killed half-way resumes without loss or
duplicates. ``run.pull`` pulls one source; ``vendors.build_specs`` reads ``[sources.NAME]``.
"""

from __future__ import annotations

__all__ = ["PullResult", "RetryPolicy", "SourceSpec", "build_specs", "pull"]

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parallax.connectors.pull.retry import RetryPolicy
    from parallax.connectors.pull.run import PullResult, pull
    from parallax.connectors.pull.spec import SourceSpec
    from parallax.connectors.pull.vendors import build_specs

# Imported on first use: file ingest reaches this package for the vendors' file mappings
# (``records``) and must not pay for httpx and every vendor module on each start.
_HOME = {"RetryPolicy": "retry", "PullResult": "run", "pull": "run", "SourceSpec": "spec",
         "build_specs": "vendors"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
