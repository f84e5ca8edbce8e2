"""Zipkin v2 API: ``/api/v2/traces`` by service, ``endTs`` and ``lookback`` (milliseconds).

    [sources.zipkin]
    type = "zipkin"
    base_url = "http://zipkin:9411"
    service = "frontend"              # serviceName
    window_minutes = 60
    limit = 1000
    overlap_minutes = 5               # how far each request looks back past its window

Each window answers a list of traces (lists of v2 spans, timestamps and durations in
microseconds), loaded by the ``zipkin`` file format; the cursor is the end of the last complete
window. Zipkin returns only traces whose spans all lie within ``[endTs - lookback, endTs]``, so
a trace crossing a window's start would be in no window: each request looks back
``overlap_minutes`` (default 5) further, and the traces read twice dedupe by their span keys.
"""

from __future__ import annotations

from parallax.connectors.pull.spec import Auth, SourceSpec, WindowSpec
from parallax.connectors.pull.vendors.common import Conf

__all__ = ["build"]


def build(name: str, conf: Conf) -> SourceSpec:
    secret = conf.secret(required=False)
    return SourceSpec(
        name, "zipkin", "traces", "zipkin", base_url=conf.base_url(), path="/api/v2/traces",
        params={"serviceName": conf.req("service")}, auth=Auth(secret) if secret else None,
        records="",
        window=WindowSpec(None, "endTs", "ms", conf.num("window_minutes", 60) * 60,
                          lookback_param="lookback", limit_param="limit",
                          limit=int(conf.num("limit", 1000)),
                          overlap=conf.num("overlap_minutes", 5) * 60),
        **conf.common())
