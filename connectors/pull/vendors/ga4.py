"""GA4 BigQuery exports dropped as daily files in a folder, incremental by the file's date.

    [sources.ga4]
    type = "ga4"
    folder = "/data/ga4"               # events_YYYYMMDD.* (.ndjson, .json, .gz), any depth
    pattern = 'events_(?P<date>\\d{8})' # optional: where the date is in the file name

Files are loaded oldest date first, each in its own transaction with the cursor (the date); a
later pull loads only files dated after the cursor. ``events_intraday_*`` files are skipped
(their day comes again as a full daily file). Read with the ``ga4-ndjson`` file format
(``options = { session_param = "…" }`` as for ``ingest analytics``).
"""

from __future__ import annotations

import re

from parallax.connectors.pull.spec import FolderSpec, SourceSpec
from parallax.connectors.pull.vendors.common import Conf
from parallax.errors import ConfigError

__all__ = ["build"]


def build(name: str, conf: Conf) -> SourceSpec:
    pattern = str(conf.get("pattern", r"(?<!intraday_)events_(?P<date>\d{8})"))
    try:
        if "date" not in re.compile(pattern).groupindex:
            raise re.error("no (?P<date>…) group")
    except re.error as exc:
        raise ConfigError(f"{conf.where('pattern')}: {exc}") from None
    return SourceSpec(name, "ga4", "analytics", "ga4-ndjson",
                      folder=FolderSpec(conf.req("folder"), pattern), **conf.common())
