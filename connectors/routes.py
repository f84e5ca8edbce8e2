"""The one route normalisation, shared by page views, spans and in-page feedback so the three
meet on the same ``route`` value.

1. strip scheme, host, query string and fragment; lower-case; collapse slashes; drop a
   trailing slash (but keep ``/``);
2. user rules from ``[routes] rules`` in parallax.toml (first match wins, whole path replaced);
3. placeholders in any style (``:id``, ``{product_id}``, ``<id>``, ``<int:id>``) → ``{id}``;
4. id-like segments → ``{id}``: numbers, UUIDs, long hex, and tokens that mix letters and
   digits with 8+ characters (order numbers, base64 ids).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from parallax.config import RouteRule
from parallax.errors import ConfigError

__all__ = ["RouteNormalizer", "normalize_route"]

_SCHEME_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://[^/?#]*", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"^(?::[A-Za-z_]\w*|\{[^/{}]*\}|<[^/<>]*>|\[[^/\[\]]+\])$")
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
_HEX = re.compile(r"^(?:0x)?[0-9a-f]{12,}$")
_MIXED = re.compile(r"^(?=.*\d)(?=.*[a-z])[a-z0-9]{8,}$")  # no separators: not a slug
_DIGITS_HEAVY = re.compile(r"^(?=(?:.*\d){4,})[a-z0-9_-]+$")
_METHOD = re.compile(r"^(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+", re.IGNORECASE)


def _segment(seg: str) -> str:
    if _PLACEHOLDER.match(seg):
        return "{id}"
    low = seg.lower()
    if _NUMBER.match(low) or _UUID.match(low) or _HEX.match(low):
        return "{id}"
    if _MIXED.match(low):
        return "{id}"
    if _DIGITS_HEAVY.match(low) and sum(c.isdigit() for c in low) * 2 >= len(low):
        return "{id}"
    return low


def _path_of(value: str) -> str:
    text = _METHOD.sub("", value.strip(), count=1)
    text = _SCHEME_HOST.sub("", text, count=1)
    if text.startswith("//"):  # scheme-relative URL: //host/path
        text = "/" + text[2:].partition("/")[2]
    for sep in ("#", "?"):
        text = text.split(sep, 1)[0]
    return text


@dataclass(frozen=True)
class RouteNormalizer:
    rules: tuple[RouteRule, ...] = ()
    _compiled: tuple = field(default=(), compare=False, repr=False)
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        try:
            compiled = tuple((re.compile(r.match), r.route) for r in self.rules)
        except re.error as exc:
            raise ConfigError(f"[routes] rules: bad regular expression: {exc}") from None
        object.__setattr__(self, "_compiled", compiled)

    def __call__(self, value: str | None) -> str | None:
        if value is None:
            return None
        hit = self._cache.get(value)
        if hit is None:
            hit = self._normalize(value)
            if len(self._cache) < 200_000:
                self._cache[value] = hit
        return hit or None

    def _normalize(self, value: str) -> str:
        path = _path_of(value)
        if not path and not value.strip():
            return ""
        segments = [s for s in path.split("/") if s]
        raw = "/" + "/".join(segments)
        for pattern, route in self._compiled:
            if pattern.search(raw) or pattern.search(raw.lower()):
                return route
        return "/" + "/".join(_segment(s) for s in segments)


def normalize_route(value: str | None, rules: Iterable[RouteRule] = ()) -> str | None:
    """Convenience for one-off calls; connectors hold a ``RouteNormalizer`` instead."""
    return RouteNormalizer(tuple(rules))(value)
