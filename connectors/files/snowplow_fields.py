"""Reading the fields of one Snowplow enriched event (rules: ``snowplow``): the 131 columns
of the enriched TSV in their order, timestamps as enrich and the loaders write them, the
self-describing contexts of both shapes, custom ids found in them, and the page load time of
the W3C PerformanceTiming context.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from parallax.connectors.files.analytics_rows import Bad

__all__ = ["FIELDS", "INDEX", "contexts", "context_value", "device", "load_ms", "timestamp"]

# The enriched event's columns, in TSV order (Snowplow's canonical event model; the analytics
# SDKs check the same 131 names). Only a handful are read, but the count is the format.
FIELDS = (
    "app_id", "platform", "etl_tstamp", "collector_tstamp", "dvce_created_tstamp", "event",
    "event_id", "txn_id", "name_tracker", "v_tracker", "v_collector", "v_etl", "user_id",
    "user_ipaddress", "user_fingerprint", "domain_userid", "domain_sessionidx",
    "network_userid", "geo_country", "geo_region", "geo_city", "geo_zipcode", "geo_latitude",
    "geo_longitude", "geo_region_name", "ip_isp", "ip_organization", "ip_domain",
    "ip_netspeed", "page_url", "page_title", "page_referrer", "page_urlscheme",
    "page_urlhost", "page_urlport", "page_urlpath", "page_urlquery", "page_urlfragment",
    "refr_urlscheme", "refr_urlhost", "refr_urlport", "refr_urlpath", "refr_urlquery",
    "refr_urlfragment", "refr_medium", "refr_source", "refr_term", "mkt_medium", "mkt_source",
    "mkt_term", "mkt_content", "mkt_campaign", "contexts", "se_category", "se_action",
    "se_label", "se_property", "se_value", "unstruct_event", "tr_orderid", "tr_affiliation",
    "tr_total", "tr_tax", "tr_shipping", "tr_city", "tr_state", "tr_country", "ti_orderid",
    "ti_sku", "ti_name", "ti_category", "ti_price", "ti_quantity", "pp_xoffset_min",
    "pp_xoffset_max", "pp_yoffset_min", "pp_yoffset_max", "useragent", "br_name",
    "br_family", "br_version", "br_type", "br_renderengine", "br_lang", "br_features_pdf",
    "br_features_flash", "br_features_java", "br_features_director", "br_features_quicktime",
    "br_features_realplayer", "br_features_windowsmedia", "br_features_gears",
    "br_features_silverlight", "br_cookies", "br_colordepth", "br_viewwidth",
    "br_viewheight", "os_name", "os_family", "os_manufacturer", "os_timezone", "dvce_type",
    "dvce_ismobile", "dvce_screenwidth", "dvce_screenheight", "doc_charset", "doc_width",
    "doc_height", "tr_currency", "tr_total_base", "tr_tax_base", "tr_shipping_base",
    "ti_currency", "ti_price_base", "base_currency", "geo_timezone", "mkt_clickid",
    "mkt_network", "etl_tags", "dvce_sent_tstamp", "refr_domain_userid", "refr_device_tstamp",
    "derived_contexts", "domain_sessionid", "derived_tstamp", "event_vendor", "event_name",
    "event_format", "event_version", "event_fingerprint", "true_tstamp",
)
INDEX = {name: i for i, name in enumerate(FIELDS)}

# "2022-02-01 22:50:16.012" (TSV), "2021-10-15T09:05:29.127379444Z" (wide row: nanoseconds).
_TS = re.compile(r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?"
                 r"(Z|[+-]\d\d:?\d\d)?")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_US = 4_102_444_800 * 10**6  # 2100: a later time is a broken clock, not an event


def timestamp(value: Any, what: str) -> int:
    """Microseconds since 1970 (UTC when no offset is written, as enrich writes them)."""
    m = _TS.fullmatch(str(value).strip())
    if m is None:
        raise Bad(f"{what} is not a timestamp: {value!r}"[:200])
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        offset = "+00:00" if tz in (None, "Z") else tz
        dt = datetime.fromisoformat(f"{y}-{mo}-{d}T{h}:{mi}:{s}{offset}")
    except ValueError:
        raise Bad(f"{what} is not a valid time: {value!r}"[:200]) from None
    us = (dt - _EPOCH) // _ONE_US + int((frac or "0").ljust(9, "0")[:6])
    if not 0 <= us < _MAX_US:
        raise Bad(f"{what} {value!r} is out of range")
    return us


_ONE_US = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def _snake(name: str) -> str:
    """Schema name as the wide row spells it: ``PerformanceTiming`` → ``performance_timing``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def contexts(rec: dict[str, Any]) -> list[tuple[str, str, dict]]:
    """(vendor, snake-case name, data) of every context entity: from the self-describing
    ``contexts`` / ``derived_contexts`` JSON (``{"schema": …, "data": [{schema, data}]}``),
    or from a wide row's ``contexts_<vendor>_<name>_<major>`` lists."""
    out: list[tuple[str, str, dict]] = []
    for column in ("contexts", "derived_contexts"):
        doc = rec.get(column)
        entities = doc.get("data") if isinstance(doc, dict) else None
        for e in entities if isinstance(entities, list) else ():
            if not isinstance(e, dict) or not isinstance(e.get("data"), dict):
                continue
            parts = str(e.get("schema", "")).removeprefix("iglu:").split("/")
            if len(parts) >= 2:
                out.append((parts[0].replace(".", "_").replace("-", "_"), _snake(parts[1]),
                            e["data"]))
    for key, value in rec.items():
        if key.startswith("contexts_") and isinstance(value, list):
            # contexts_com_acme_shared_session_1: vendor and name are not told apart here,
            # so the whole middle part stands for both (matched by suffix below).
            middle = key.removeprefix("contexts_").rsplit("_", 1)[0]
            out.extend((middle, middle, d) for d in value if isinstance(d, dict))
    return out


_SNOWPLOW = "com_snowplowanalytics"


def context_value(found: list[tuple[str, str, dict]], param: str) -> Any:
    """The value of ``param`` in a custom context: ``key`` in any context not Snowplow's own
    (whose ``client_session.sessionId`` is the tracker's session, not a shared id), or
    ``name.key`` in the context of that schema name."""
    name, _, key = param.rpartition(".")
    for vendor, schema, data in found:
        if name:
            if not (schema == _snake(name) or schema.endswith("_" + _snake(name))):
                continue
        elif vendor.startswith(_SNOWPLOW):
            continue
        value = data.get(key)
        if value not in (None, "") and not isinstance(value, dict | list | bool):
            return value
    return None


def load_ms(found: list[tuple[str, str, dict]]) -> float | None:
    """loadEventEnd − navigationStart of the PerformanceTiming context, when both are set."""
    for _, schema, data in found:
        if schema.endswith("performance_timing"):
            start, end = data.get("navigationStart"), data.get("loadEventEnd")
            if (isinstance(start, int | float) and isinstance(end, int | float)
                    and 0 < start <= end):
                return float(end - start)
    return None


def device(rec: dict[str, Any]) -> str | None:
    """``dvce_ismobile`` (1/0 in the TSV, a boolean in the wide row), else ``dvce_type``."""
    mobile = rec.get("dvce_ismobile")
    if mobile in (True, "1", 1):
        return "mobile"
    if mobile in (False, "0", 0):
        return "desktop"
    kind = rec.get("dvce_type")
    return str(kind).lower() if kind else None
