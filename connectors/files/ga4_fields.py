"""Reading the fields of one GA4 export event (rules: ``ga4``): INT64s written as text or
numbers, ``event_params`` / ``user_properties`` unnested, id params as text, the trace id,
and the drill-down context kept in ``events.properties``.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from parallax.connectors.files.analytics_rows import Bad, to_float

__all__ = ["BATCH", "LOAD_PARAMS", "SESSION_PARAM", "TRACE_PARAM", "clean", "dict_at", "extras",
           "id_text", "opt_int", "to_int", "trace_id", "unnest"]

BATCH = ("batch_event_index", "batch_page_id", "batch_ordering_id")
# The params read when the options name none (--session-param, --trace-param, --load-param).
SESSION_PARAM = "session_id"
TRACE_PARAM = "trace_id"
LOAD_PARAMS = ("page_load_ms", "load_ms", "load_time_ms", "page_load_time")
_NOT_SET = ("", "(not set)", "(not provided)")
# BigQuery's INT64: a longer number is no export value, and nothing downstream could store it.
_INT64 = range(-(1 << 63), 1 << 63)


def to_int(value: Any, what: str) -> int:
    n = None
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str):
        with suppress(ValueError):
            n = int(value)
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    if n is None:
        raise Bad(f"{what} is not an integer: {value!r}"[:200])
    if n not in _INT64:
        raise Bad(f"{what} is beyond the 64-bit integer range: {value!r}"[:200])
    return n


def opt_int(value: Any, what: str) -> int | None:
    return None if value is None or value == "" else to_int(value, what)


def unnest(items: Any, what: str) -> dict[str, Any]:
    """[{key, value{string_value|int_value|double_value|float_value}}] → {key: value}."""
    if not items:
        return {}
    try:  # the hot path; anything unusual is re-read by the checking path below
        out: dict[str, Any] = {}
        for item in items:
            key, v = item["key"], item["value"]
            if key.__class__ is not str:
                raise TypeError
            if (x := v.get("string_value")) is None:
                if (x := v.get("int_value")) is not None:
                    if x.__class__ is str:
                        x = int(x)
                    elif x.__class__ is not int:
                        raise TypeError
                    if x not in _INT64:  # the checking path says why
                        raise ValueError
                else:
                    if (x := v.get("double_value")) is None:
                        x = v.get("float_value")
                    if x is not None:
                        if x.__class__ is bool:
                            raise TypeError
                        x = float(x)
            out[key] = x
        return out
    except (KeyError, TypeError, ValueError, AttributeError):
        return _unnest_checked(items, what)


def _unnest_checked(items: Any, what: str) -> dict[str, Any]:
    if not isinstance(items, list):
        raise Bad(f"{what} is not a list")
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise Bad(f"{what}[{i}] has no key")
        v = item.get("value")
        if not isinstance(v, dict):
            out[item["key"]] = None
        elif (s := v.get("string_value")) is not None:
            out[item["key"]] = s
        elif (n := v.get("int_value")) is not None:
            out[item["key"]] = to_int(n, f"{what} {item['key']!r} int_value")
        elif (d := v.get("double_value")) is not None:
            out[item["key"]] = to_float(d)
        else:
            out[item["key"]] = to_float(v.get("float_value"))
    return out


def id_text(value: Any) -> str | None:
    """An id param as text; 12345 and "12345" are the same id."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def trace_id(params: dict[str, Any], name: str) -> str | None:
    tid = id_text(params.get(name))
    if tid is None and (tp := id_text(params.get("traceparent"))):
        parts = tp.split("-")  # version-traceid-parentid-flags
        tid = parts[1] if len(parts) == 4 else None
    return tid.lower() if tid else None


def dict_at(rec: dict, key: str) -> dict:
    v = rec.get(key)
    return v if isinstance(v, dict) else {}


def clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text in _NOT_SET else text


def extras(rec: dict, props: dict, device: dict, batch: list) -> None:
    """Context worth keeping for drill-down; identifiers never, city-level geo never."""
    for k, v in zip(BATCH, batch, strict=True):
        if v is not None:
            props[k] = v
    if rec.get("platform"):
        props["platform"] = rec["platform"]
    if device:
        props["os"] = clean(device.get("operating_system"))
        web = device.get("web_info")
        props["browser"] = clean(web.get("browser")) if isinstance(web, dict) else None
    if isinstance(rec.get("traffic_source"), dict):
        props["traffic_source"] = rec["traffic_source"]
    if (usd := to_float(rec.get("event_value_in_usd"), lenient=True)) is not None:
        props["event_value_in_usd"] = usd
    if rec.get("user_properties"):
        try:
            up = unnest(rec["user_properties"], "user_properties")
        except Bad:
            up = {}
        if up:
            props["user_properties"] = up
    if isinstance(rec.get("items"), list) and rec["items"]:
        props["items"] = rec["items"]
