"""A generic JSON API: declare where the records are and how pages follow, no code.

    [sources.nps_api]
    type = "json"
    base_url = "https://feedback.example.com"
    path = "/api/v1/answers"
    kind = "feedback"                  # or "analytics" (page views)
    records = "data.items"             # dotted path to the record list ('' = the page is one)
    paginator = "next_link"            # next_link | link_header | cursor | offset | page | none
    next = "links.next"                # next_link: where the next URL is
    since_field = "created_at"         # incremental: the record's time field …
    since_param = "since"              # … sent back as this query parameter
    since_unit = "iso"                 # iso | iso_naive | s | ms | us
    # paginator = "cursor" takes cursor_param (query parameter) and cursor_path (in the page)
    ordered = true                     # pages come oldest first
    token_env = "FEEDBACK_API_TOKEN"   # Bearer token; auth_header / auth_scheme / auth_param
    params = { survey = "web" }
    fields = { score = "rating.value" }

Records are read with dotted keys for nested objects. Feedback records are mapped like
``feedback-ndjson`` (common names, ``fields``, ``options.metric``); page-view records like
``pageviews-ndjson`` (session_id, timestamp, url, … by common names or ``fields``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from parallax.connectors.base import ParseContext
from parallax.connectors.files import pageviews
from parallax.connectors.files.row_files import resolve
from parallax.connectors.files.survey import flatten
from parallax.connectors.pull.records import feedback_records, pageview_records
from parallax.connectors.pull.spec import Auth, CursorSpec, SourceSpec, dig
from parallax.connectors.pull.vendors.common import Conf, paginator
from parallax.errors import ConfigError

__all__ = ["FEEDBACK", "PAGEVIEWS", "build"]


def _records(page: Any, ctx: ParseContext) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, rec in enumerate(dig(page, ctx.options.get("records", "")) or ()):
        if isinstance(rec, dict):
            yield f"record {i + 1}", flatten(rec)


def _views(page: Any, ctx: ParseContext) -> Iterator[tuple[str, dict[str, Any]]]:
    for where, rec in _records(page, ctx):
        found = resolve(pageviews.SPEC, list(rec), ctx.fields)
        yield where, {canon: rec.get(key) for canon, key in found.items()}


FEEDBACK = feedback_records("json-feedback", _records, "survey answers from a JSON API page")
PAGEVIEWS = pageview_records("json-pageviews", _views, "page views from a JSON API page")


def build(name: str, conf: Conf) -> SourceSpec:
    kind = str(conf.get("kind", "feedback"))
    if kind not in ("feedback", "analytics"):
        raise ConfigError(f"{conf.where('kind')} = {kind!r}: expected feedback or analytics")
    secret = conf.secret(required=False)
    auth = None
    if secret:
        param = conf.get("auth_param")
        scheme = str(conf.get("auth_scheme", "Bearer"))
        auth = Auth(secret, header=str(conf.get("auth_header", "Authorization")),
                    template=f"{scheme} {{secret}}" if scheme else "{secret}",
                    param=str(param) if param else None)
    records = str(conf.get("records", ""))
    cursor = None
    if conf.get("since_field"):
        cursor = CursorSpec(conf.req("since_field"), conf.get("since_param"),
                            str(conf.get("since_unit", "iso")), bool(conf.get("ordered", False)))
    common = conf.common()
    common["options"] = {"source": name, **common["options"], "records": records}
    return SourceSpec(
        name, "json", kind, FEEDBACK if kind == "feedback" else PAGEVIEWS,
        base_url=conf.base_url(), path=str(conf.get("path", "")),
        params=dict(conf.get("params", {}) or {}), auth=auth, paginator=paginator(conf),
        records=records, cursor=cursor, **common)
