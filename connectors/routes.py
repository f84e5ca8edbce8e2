"""The one route normalisation, shared by page views, spans and in-page feedback so the three
meet on the same ``route`` value.

1. strip method, scheme, host, query string and fragment; collapse slashes; drop a trailing
   slash (but keep ``/``);
2. user rules from ``[routes] rules`` in parallax.toml (first match wins, whole path replaced);
3. a value written as a template (``/category/:slug``, ``/files/<int:id>``) → its canonical
   form, which keeps the placeholder's name (``/category/{slug}``; see ``route_syntax``);
4. a concrete path matching a template — declared in ``[routes] templates`` or learned from
   server spans (``route_learning``) — → the best one: longest literal prefix, then fewer
   placeholders, so a literal ``/category/new-arrivals`` beats ``/category/{slug}``;
5. otherwise lower-cased, id-like segments → ``{id}``: numbers, UUIDs, long hex, and tokens
   that mix letters and digits with 8+ characters (order numbers, base64 ids).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from parallax.config import RouteRule
from parallax.connectors.route_syntax import Template, canonical, compile_template
from parallax.errors import ConfigError

__all__ = ["ROUTES_VERSION", "RouteNormalizer", "normalize_route"]

# Part of the fingerprint of the stored routes: change it when this normalisation changes, so
# the next load re-routes rows stored under the old one.
ROUTES_VERSION = 2

_SCHEME_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://[^/?#]*", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
_HEX = re.compile(r"^(?:0x)?[0-9a-f]{12,}$")
_MIXED = re.compile(r"^(?=.*\d)(?=.*[a-z])[a-z0-9]{8,}$")  # no separators: not a slug
_DIGITS_HEAVY = re.compile(r"^(?=(?:.*\d){4,})[a-z0-9_-]+$")
_METHOD = re.compile(r"^(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+", re.IGNORECASE)


def _segment(seg: str) -> str:
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


def _segments(value: str) -> list[str]:
    return [s for s in _path_of(value).split("/") if s]


def template_of(value: str) -> str | None:
    """``value`` as a template: canonical syntax, or the lower-cased path of a literal one."""
    segments = _segments(value)
    if not segments and not value.strip():
        return None
    return canonical(segments) or "/" + "/".join(s.lower() for s in segments)


def _declared(raw: object) -> str:
    """A ``[routes] templates`` entry in canonical form; ConfigError if it is no template."""
    text = template_of(raw) if isinstance(raw, str) else None
    if not text or not isinstance(raw, str) or not raw.strip().startswith("/") or "?" in raw \
            or "#" in raw:
        raise ConfigError(f"[routes] templates: {raw!r} is not a path template "
                          "(e.g. \"/category/{slug}\")")
    return text


@dataclass(frozen=True)
class _Index:
    """Templates by their first literal segment, so a path is tried against a few only."""

    by_first: dict
    wild: tuple  # templates whose first segment holds a placeholder

    @classmethod
    def of(cls, templates: Iterable[Template]) -> _Index:
        by_first: dict[str, list[Template]] = {}
        wild = []
        for t in templates:
            if t.first is None:
                wild.append(t)
            else:
                by_first.setdefault(t.first, []).append(t)
        return cls(by_first, tuple(wild))

    def best(self, path: str, first: str) -> Template | None:
        candidates = (*self.by_first.get(first, ()), *self.wild)
        hits = [t for t in candidates if t.pattern.fullmatch(path)]
        return min(hits, key=lambda t: t.rank) if hits else None


@dataclass(frozen=True)
class RouteNormalizer:
    rules: tuple[RouteRule, ...] = ()
    declared: tuple[str, ...] = ()  # [routes] templates, any syntax; kept canonical
    learned: tuple[str, ...] = ()  # canonical templates learned from spans (route_templates)
    learn: bool = True  # [routes] learn: learned templates are kept and used
    _compiled: tuple = field(default=(), init=False, compare=False, repr=False)
    _templates: tuple = field(default=(), init=False, compare=False, repr=False)
    _index: _Index | None = field(default=None, init=False, compare=False, repr=False)
    # value → (route or '', its lower-cased path and first segment, the template it matched),
    # path and template None when no template could change the route (step 1-3 decided)
    _cache: dict = field(default_factory=dict, init=False, compare=False, repr=False)
    # (the cache of the normaliser this one extends, an index of the templates it adds)
    _carried: tuple | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        try:
            compiled = tuple((re.compile(r.match), r.route) for r in self.rules)
        except re.error as exc:
            raise ConfigError(f"[routes] rules: bad regular expression: {exc}") from None
        object.__setattr__(self, "_compiled", compiled)
        declared = tuple(dict.fromkeys(_declared(raw) for raw in self.declared))
        object.__setattr__(self, "declared", declared)
        effective = set(declared) | set(self.learned if self.learn else ())
        object.__setattr__(self, "_templates", tuple(sorted(effective)))
        object.__setattr__(self, "_index", _Index.of(compile_template(t)
                                                     for t in self._templates))

    @property
    def templates(self) -> tuple[str, ...]:
        """Every template a path is matched against, canonical, sorted."""
        return self._templates

    def with_learned(self, learned: Iterable[str]) -> RouteNormalizer:
        """This normaliser with ``learned`` as its learned templates. When that only adds
        templates, the values this one routed are re-routed from what it kept of them (their
        path, the template they matched) against the added templates alone: after a load
        teaches templates every stored value is routed again (``route_learning.reroute``),
        and on a first load that is every distinct URL of the file a second time."""
        new = replace(self, learned=tuple(sorted(set(learned))))
        added = set(new._templates) - set(self._templates)
        if self._cache and len(added) + len(self._templates) == len(new._templates):
            index = _Index.of(compile_template(t) for t in sorted(added))
            object.__setattr__(new, "_carried", (self._cache, index))
        return new

    def fingerprint(self) -> str:
        """What the stored routes depend on: this code's version, the rules, the templates."""
        doc = [ROUTES_VERSION, [[r.match, r.route] for r in self.rules], list(self.templates)]
        return hashlib.sha256(json.dumps(doc).encode()).hexdigest()

    def teachable(self, raw: str) -> str | None:
        """The template a span's ``http.route`` teaches, or None: a route of nothing but a
        catch-all (a fallback handler) identifies no page, and a literal route holding an
        id-like segment (``/orders/12345``) is an instrumentation that copies the path."""
        text = template_of(raw)
        if text is None:
            return None
        if "{" in text:
            return None if re.fullmatch(r"/\{\*[^}]*\}", text) else text
        segments = [s for s in text.split("/") if s]
        return text if all(_segment(s) == s for s in segments) else None

    def __call__(self, value: str | None) -> str | None:
        if value is None:
            return None
        hit = self._cache.get(value)
        if hit is None:
            hit = self._carry(value) if self._carried else None
            if hit is None:
                hit = self._normalize(value)
            if len(self._cache) < 200_000:
                self._cache[value] = hit
        return hit[0] or None

    def _carry(self, value: str) -> tuple | None:
        """``value`` routed from the extended normaliser's entry, or None if it has none. The
        templates are that one's plus the added ones, so the best match is the better of the
        one it found and the best added one; steps 1-3 and 5 do not depend on templates."""
        assert self._carried is not None
        before, added = self._carried
        hit = before.get(value)
        if hit is None or hit[1] is None:
            return hit
        _, low, first, template = hit
        extra = added.best(low, first)
        if extra is None or (template is not None and template.rank < extra.rank):
            return hit
        return (extra.text, low, first, extra)

    def _normalize(self, value: str) -> tuple:
        segments = _segments(value)
        if not segments and not value.strip():
            return ("", None, None, None)
        raw = "/" + "/".join(segments)
        for pattern, route in self._compiled:
            if pattern.search(raw) or pattern.search(raw.lower()):
                return (route, None, None, None)
        written = canonical(segments)
        if written is not None:
            return (written, None, None, None)
        low = raw.lower()
        first = segments[0].lower() if segments else ""
        assert self._index is not None  # built in __post_init__
        found = self._index.best(low, first)
        if found is not None:
            return (found.text, low, first, found)
        return ("/" + "/".join(_segment(s) for s in segments), low, first, None)


def normalize_route(value: str | None, rules: Iterable[RouteRule] = ()) -> str | None:
    """Convenience for one-off calls; connectors hold a ``RouteNormalizer`` instead."""
    return RouteNormalizer(tuple(rules))(value)
