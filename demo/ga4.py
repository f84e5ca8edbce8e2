"""GA4's BigQuery export (``events_YYYYMMDD``) as ``bq extract
--destination_format NEWLINE_DELIMITED_JSON`` writes it: one event per line, INT64 values as
JSON strings, FLOAT64 as numbers, NULL fields left out, columns in the export schema's order.

Besides GA4's own ``ga_session_id`` (the session start in Unix seconds) every event carries
the site's custom ``session_id`` param — the id the traces' ``session.id`` and the survey's
embedded data also carry — and each ``page_view`` its ``page_load_ms`` and ``trace_id``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from parallax.demo.spec import DEMO, WorldSpec
from parallax.demo.vitals import vitals_events
from parallax.demo.world import PageView, Session

__all__ = ["offer_row", "write_ga4"]

STREAM_ID = "4178906623"
EUR_TO_USD = 1.08
_BRANDS = {"iOS": ("Apple", "iPhone"), "Android": ("Google", "Pixel 8"),
           "Windows": ("Microsoft", "Chrome"), "Macintosh": ("Apple", "Safari")}


def write_ga4(path: Path, sessions: Iterable[Session], spec: WorldSpec = DEMO) -> None:
    with open(path, "wb") as f:
        for session in sessions:
            if session.ga4:  # consent denied: GA4 never saw the session
                for row in _events(session, spec):
                    f.write(orjson.dumps(row) + b"\n")


def _events(s: Session, spec: WorldSpec) -> list[dict]:
    v = s.visitor
    common = [("ga_session_id", s.start_us // 1_000_000), ("ga_session_number", v.session_number),
              ("session_id", v.session_id)]
    rows: list[dict] = []
    for bundle, pv in enumerate(s.pages, 1):
        at = pv.start_us + int(pv.load_ms * 1000)  # the tag fires when the page has loaded
        page = [("page_location", pv.url), ("page_title", spec.routes[pv.route].title)]
        batch: list[tuple[int, str, list, dict]] = []
        if pv.seq == 1:
            if v.session_number == 1 and v.first_visit_s == s.start_us // 1_000_000:
                batch.append((at, "first_visit", page + common, {}))
            batch.append((at, "session_start", page + common, {}))
        view = page + ([("page_referrer", pv.referrer)] if pv.referrer else []) + common + [
            ("engaged_session_event", 1), ("page_load_ms", round(pv.load_ms)),
            ("trace_id", pv.trace_id)] + ([("entrances", 1)] if pv.seq == 1 else [])
        batch.append((at, "page_view", view, {}))
        if pv.add_to_cart and pv.product_id:
            price = round(20 + _number(pv.product_id) % 80 + 0.99, 2)
            batch.append((at + 5_000_000, "add_to_cart",
                          page + common + [("currency", "EUR"), ("value", price)],
                          {"items": [_item(pv.product_id, price)]}))
        if s.purchase and s.purchase.seq == pv.seq:
            batch.append(_purchase(s, page + common))
        # web vitals (worlds that plant them only): after the page's other events, which keep
        # their places in the batch
        batch += [(ts, name, page + common + params, {})
                  for ts, name, params in vitals_events(spec, pv.route, pv.trace_id,
                                                        pv.load_ms, at)]
        for index, (ts, name, params, extra) in enumerate(batch):
            rows.append(_row(s, spec, pv, ts, name, params, extra, bundle, index))
    return rows


def offer_row(s: Session, spec: WorldSpec, pv: PageView, at_us: int, survey: str) -> dict:
    """A ``survey_impression`` event (the in-page survey was shown on ``pv``), as a custom GA4
    event with the survey's id (planted self-selection, ``demo.selection``)."""
    params = [("page_location", pv.url), ("page_title", spec.routes[pv.route].title),
              ("ga_session_id", s.start_us // 1_000_000),
              ("ga_session_number", s.visitor.session_number),
              ("session_id", s.visitor.session_id), ("survey_id", survey)]
    return _row(s, spec, pv, at_us, "survey_impression", params, {}, pv.seq, 0)


def _purchase(s: Session, params: list) -> tuple[int, str, list, dict]:
    p = s.purchase
    assert p is not None
    price = round(p.revenue / len(p.items), 2)
    return (p.at_us, "purchase",
            params + [("transaction_id", p.transaction_id), ("currency", "EUR"),
                      ("value", p.revenue)],
            {"event_value_in_usd": round(p.revenue * EUR_TO_USD, 2),
             "ecommerce": {"total_item_quantity": str(len(p.items)),
                           "purchase_revenue_in_usd": round(p.revenue * EUR_TO_USD, 2),
                           "purchase_revenue": p.revenue, "unique_items": str(len(set(p.items))),
                           "transaction_id": p.transaction_id},
             "items": [_item(i, price) for i in p.items]})


def _number(product_id: str) -> int:
    """A stable number for a product id (ids are not always digits: SKUs, slugs)."""
    return int(product_id) if product_id.isdigit() else zlib.crc32(product_id.encode())


def _item(product_id: str, price: float) -> dict:
    return {"item_id": product_id, "item_name": f"Product {product_id}", "price": price,
            "quantity": "1", "item_revenue": price}


def _row(s: Session, spec: WorldSpec, pv: PageView, ts: int, name: str, params: list,
         extra: dict, bundle: int, index: int) -> dict:
    v = s.visitor
    brand, model = _BRANDS[v.os]
    place = next(p for p in spec.places if p.city == v.city)
    row: dict[str, Any] = {
        "event_date": datetime.fromtimestamp(ts // 1_000_000, spec.zone).strftime("%Y%m%d"),
        "event_timestamp": str(ts),
        "event_name": name,
        "event_params": [_param(k, val) for k, val in params],
    }
    if "event_value_in_usd" in extra:
        row["event_value_in_usd"] = extra["event_value_in_usd"]
    row["event_bundle_sequence_id"] = str(bundle)
    row["event_server_timestamp_offset"] = str(300_000 + (ts // 1000) % 700_000)
    if v.user_id:
        row["user_id"] = v.user_id
    row.update({
        "user_pseudo_id": v.pseudo_id,
        "privacy_info": {"analytics_storage": "Yes", "ads_storage": "No",
                         "uses_transient_token": "No"},
        "user_properties": [],
        "user_first_touch_timestamp": str(v.first_visit_s * 1_000_000),
        "device": {"category": v.device, "mobile_brand_name": brand, "mobile_model_name": model,
                   "operating_system": v.os, "operating_system_version": v.os_version,
                   "language": spec.language, "is_limited_ad_tracking": "No",
                   "time_zone_offset_seconds": str(spec.utc_offset_s),
                   "web_info": {"browser": v.browser, "browser_version": "141.0",
                                "hostname": spec.host}},
        "geo": {"city": v.city, "country": v.country,
                "continent": spec.notes.get("continent", "Europe"), "region": place.region,
                "sub_continent": spec.notes.get("sub_continent", "Western Europe")},
        "traffic_source": {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
        "stream_id": STREAM_ID,
        "platform": "WEB",
    })
    if "ecommerce" in extra:
        row["ecommerce"] = extra["ecommerce"]
    row["items"] = extra.get("items", [])
    row.update({"is_active_user": True, "batch_event_index": str(index),
                "batch_page_id": str(pv.start_us // 1000), "batch_ordering_id": str(pv.seq)})
    return row


def _param(key: str, value: Any) -> dict:
    typed: dict[str, Any]
    if isinstance(value, float):
        typed = {"double_value": value}
    elif isinstance(value, int):
        typed = {"int_value": str(value)}  # INT64 → JSON string in BigQuery's JSON export
    else:
        typed = {"string_value": value}
    return {"key": key, "value": typed}
