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

from parallax.connectors.pull.retry import RetryPolicy
from parallax.connectors.pull.run import PullResult, pull
from parallax.connectors.pull.spec import SourceSpec
from parallax.connectors.pull.vendors import build_specs
