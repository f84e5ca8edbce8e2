"""Jaeger query API: ``/api/traces`` by service and time window (microseconds).

    [sources.jaeger]
    type = "jaeger"
    base_url = "http://jaeger-query:16686"
    service = "checkout"
    window_minutes = 60               # one request per window, oldest first
    limit = 1000                      # a window returning this many traces is halved

Pages are the query API's ``{"data": [traces…], "total", "limit", "offset", "errors"}``
documents, loaded by the ``jaeger`` file format; the cursor is the end of the last complete
window. This is the HTTP JSON API the Jaeger UI uses, which Jaeger documents as internal
(jaegertracing.io/docs/latest/apis); parameters as its query parser reads them. No token is
needed unless the query service sits behind a proxy that wants one (``token_env``: Bearer).
"""

from __future__ import annotations

from parallax.connectors.pull.spec import Auth, SourceSpec, WindowSpec
from parallax.connectors.pull.vendors.common import Conf

__all__ = ["build"]


def build(name: str, conf: Conf) -> SourceSpec:
    secret = conf.secret(required=False)
    return SourceSpec(
        name, "jaeger", "traces", "jaeger", base_url=conf.base_url(), path="/api/traces",
        params={"service": conf.req("service")}, auth=Auth(secret) if secret else None,
        records="data",
        window=WindowSpec("start", "end", "us", conf.num("window_minutes", 60) * 60,
                          limit_param="limit", limit=int(conf.num("limit", 1000))),
        **conf.common())
