"""PostHog: ``$pageview`` events through the events API, paged by ``next``.

    [sources.posthog]
    type = "posthog"
    base_url = "https://eu.posthog.com"   # default https://us.posthog.com
    project_id = "12345"
    token_env = "POSTHOG_API_KEY"         # personal API key (Bearer), scope query:read

``/api/projects/{id}/events/?event=$pageview&after=<cursor>&limit=100`` → ``{"next",
"results": [{id, distinct_id, properties, event, timestamp, person, elements,
elements_chain}]}`` (posthog.com/docs/api/events; the endpoint is documented as deprecated).
``next`` repeats the request's parameters with ``before=<last timestamp>``. Each event is a page
view: ``properties.$session_id`` → session_id, ``timestamp`` → viewed_at, ``$current_url`` →
url, ``$referrer``, ``distinct_id`` → user_id (pseudonymised), ``$device_type``,
``$geoip_country_code``. Events come newest first, so the cursor moves only when a pull has
read every page.

``offers = true`` pulls the survey impressions instead: ``event=survey shown`` (PostHog's
surveys capture it when a survey is displayed, with ``$survey_id``) → ``survey_offers``:
``id`` → offer key, ``$survey_id`` → survey, ``$session_id``, ``timestamp`` → offered_at,
``$current_url``, ``distinct_id`` → user_id (pseudonymised). Declare it as a second source
beside the page views (one event name per cursor).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from parallax.connectors.base import ParseContext
from parallax.connectors.pull.paginators import NextLink
from parallax.connectors.pull.records import offer_records, pageview_records
from parallax.connectors.pull.spec import Auth, CursorSpec, SourceSpec, dig
from parallax.connectors.pull.vendors.common import Conf

__all__ = ["FORMAT", "build"]


def _extract(page: Any, ctx: ParseContext) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, ev in enumerate(dig(page, "results") or ()):
        if not isinstance(ev, dict) or ev.get("event", "$pageview") != "$pageview":
            continue
        p = ev.get("properties") or {}
        yield f"record {i + 1}", {
            "session_id": p.get("$session_id"), "viewed_at": ev.get("timestamp"),
            "url": p.get("$current_url"), "referrer": p.get("$referrer"),
            "user_id": ev.get("distinct_id"), "device": p.get("$device_type"),
            "country": p.get("$geoip_country_code"),
        }


FORMAT = pageview_records("posthog-events", _extract, "PostHog events API page ($pageview)")
SHOWN = "survey shown"


def _extract_offers(page: Any, ctx: ParseContext) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, ev in enumerate(dig(page, "results") or ()):
        if not isinstance(ev, dict) or ev.get("event") != SHOWN:
            continue
        p = ev.get("properties") or {}
        yield f"record {i + 1}", {
            "offer_id": ev.get("id"), "survey": p.get("$survey_id"),
            "session_id": p.get("$session_id"), "offered_at": ev.get("timestamp"),
            "url": p.get("$current_url"), "user_id": ev.get("distinct_id"),
        }


OFFERS = offer_records("posthog-survey-shown", _extract_offers,
                       "PostHog events API page (survey shown)")


def build(name: str, conf: Conf) -> SourceSpec:
    pid = conf.req("project_id")
    offers = bool(conf.get("offers", False))
    return SourceSpec(
        name, "posthog", "analytics", OFFERS if offers else FORMAT,
        base_url=conf.base_url("https://us.posthog.com"), path=f"/api/projects/{pid}/events/",
        params={"event": SHOWN if offers else "$pageview", "limit": 100},
        auth=Auth(conf.secret() or ""), paginator=NextLink("next"), records="results",
        cursor=CursorSpec("timestamp", "after", "iso", ordered=False), **conf.common())
