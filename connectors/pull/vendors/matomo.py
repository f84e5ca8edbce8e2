"""Matomo: visits from ``Live.getLastVisitsDetails``, paged by ``filter_offset``.

    [sources.matomo]
    type = "matomo"
    base_url = "https://matomo.example.com"
    site_id = 1
    token_env = "MATOMO_TOKEN"        # token_auth, sent in the POST body, never in the URL
    limit = 100

``index.php?module=API&method=Live.getLastVisitsDetails&idSite=…&format=JSON&minTimestamp=…``
with ``filter_limit``/``filter_offset``. Every action of type ``action`` is a page view:
session_id = ``idVisit``, viewed_at = the action's ``timestamp`` (Unix seconds), url,
``pageLoadTimeMilliseconds`` → load_ms; the visit gives ``userId`` (pseudonymised),
``deviceType``, ``countryCode``, ``goalConversions`` > 0 → converted and
``totalEcommerceRevenue`` → revenue; actions of other types (``event``, ``goal``,
``download``, ``outlink``, ``search``…) are not page views. Matomo applies
``filter_limit``/``filter_offset`` in SQL, newest ``visit_last_action_time`` first
(plugins/Live/API.php, Model.php), so the cursor (``lastActionTimestamp``) moves only after the
last page; ``minTimestamp`` keeps visits whose last action is after it. A visit read while still
going on is read again later with its new actions, and the old ones dedupe. Errors come as
``{"result": "error", "message": …}`` with HTTP 200.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from parallax.connectors.base import ParseContext
from parallax.connectors.pull.paginators import Offset
from parallax.connectors.pull.records import pageview_records
from parallax.connectors.pull.spec import Auth, CursorSpec, SourceSpec
from parallax.connectors.pull.vendors.common import Conf

__all__ = ["FORMAT", "build"]


def _extract(page: Any, ctx: ParseContext) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, visit in enumerate(page if isinstance(page, list) else ()):
        if not isinstance(visit, dict):
            continue
        goals = visit.get("goalConversions") or 0
        for j, act in enumerate(visit.get("actionDetails") or ()):
            if not isinstance(act, dict) or act.get("type") != "action":
                continue
            yield f"record {i + 1} action {j + 1}", {
                "session_id": visit.get("idVisit"), "viewed_at": act.get("timestamp"),
                "url": act.get("url"), "referrer": visit.get("referrerUrl") if j == 0 else None,
                "load_ms": act.get("pageLoadTimeMilliseconds"),
                "user_id": visit.get("userId"), "device": visit.get("deviceType"),
                "country": visit.get("countryCode"),
                "converted": "true" if str(goals) not in ("0", "") else None,
                "revenue": visit.get("totalEcommerceRevenue"),
            }


def _error(page: Any) -> str | None:
    if isinstance(page, dict) and page.get("result") == "error":
        return str(page.get("message") or "error")
    return None


FORMAT = pageview_records("matomo-visits", _extract, "Matomo Live.getLastVisitsDetails page")


def build(name: str, conf: Conf) -> SourceSpec:
    return SourceSpec(
        name, "matomo", "analytics", FORMAT, base_url=conf.base_url(), path="/index.php",
        method="POST",
        params={"module": "API", "method": "Live.getLastVisitsDetails",
                "idSite": conf.req("site_id"), "format": "JSON"},
        auth=Auth(conf.secret() or "", header=None, form="token_auth"),
        paginator=Offset(int(conf.num("limit", 100)), "filter_offset", "filter_limit"),
        cursor=CursorSpec("lastActionTimestamp", "minTimestamp", "s", ordered=False),
        error=_error, **conf.common())
