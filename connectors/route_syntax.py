"""Route templates written in any framework's placeholder syntax, in one canonical form, and
how concrete paths are matched and ranked against them.

The canonical form keeps the placeholder's name and drops everything else about it:

| written (framework)                                               | canonical       |
|-------------------------------------------------------------------|-----------------|
| ``:slug`` (Express, Rails), ``{slug}`` (Spring, ASP.NET, FastAPI), | ``{slug}``      |
| ``<slug>`` (Flask), ``[slug]`` (Next.js)                           |                 |
| ``{id:int}``, ``{id:[0-9]+}``, ``{id?}``, ``:id(\\d+)``, ``<int:id>`` | ``{id}``     |
| ``*``, ``**``, ``*rest``, ``{*rest}``, ``{**rest}``, ``{rest...}``, | ``{*rest}``    |
| ``<path:rest>``, ``[...rest]``, ``[[...rest]]``, ``:rest*``, ``:rest+`` | (``{*path}`` |
|                                                                   | when unnamed)   |
| ``(.:format)`` (a Rails optional group), ``{$}`` (Go's end anchor) | dropped         |

A placeholder ``{name}`` matches one or more characters inside one segment, so it may share a
segment with literal text (``/p/{id}-{slug}``, ``/blog/post-:id``); a catch-all ``{*name}``
matches one or more characters across segments (the rest of the path). Literal parts are
lower-cased as every path is. A ``:`` starts a placeholder only at the start of a segment or
after ``-``, ``.``, ``_`` or ``~``, so ``/wiki/Category:Shoes`` stays a plain path. Regular
expression routes (Django's ``re_path``) are not parsed: map them with ``[routes] rules``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Template", "canonical", "compile_template"]

_COLON_NAME = re.compile(r"[A-Za-z_]\w*")
_NAME = re.compile(r"[A-Za-z_][\w.-]*")
_STAR_SEGMENT = re.compile(r"\*\*?(?P<name>[A-Za-z_]\w*)?")
_CLOSER = {"{": "}", "<": ">", "[": "]", "(": ")"}
_AFTER_SEPARATOR = "-._~"
_PLACEHOLDER = re.compile(r"\{(\*?)([^{}]+)\}")
# Every placeholder starts with one of these (see _tokens): a path without any is plain.
_SYNTAX = re.compile(r"[{<\[(:*]")

# Tokens of a segment: ("lit", text) | ("param", name) | ("rest", name) | ("drop", text).
Token = tuple[str, str]


def _closing(text: str, start: int) -> int | None:
    """Index of the bracket closing the one at ``start`` (same kind, nested, ``\\`` escapes)."""
    opener, closer = text[start], _CLOSER[text[start]]
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == opener:
            depth += 1
        elif c == closer:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _bracketed(opener: str, inner: str) -> Token | None:
    """What ``{…}``, ``<…>`` or ``[…]`` holds, or None when it is not a placeholder."""
    inner = inner.strip()
    if opener == "{":
        if inner == "$":  # Go 1.22: "this path exactly", not a segment
            return ("drop", "")
        if inner.startswith("*"):
            return _named("rest", inner.lstrip("*").strip() or "path")
        if inner.endswith("..."):
            return _named("rest", inner[:-3].strip())
        return _named("param", re.split(r"[:=?]", inner, maxsplit=1)[0].strip())
    if opener == "<":
        converter, _, name = inner.rpartition(":")
        return _named("rest" if converter.strip() == "path" else "param", name.strip())
    if inner.startswith("[") and inner.endswith("]"):  # [[...slug]]: optional catch-all
        inner = inner[1:-1]
    if inner.startswith("..."):
        return _named("rest", inner[3:])
    return _named("param", inner)


def _named(kind: str, name: str) -> Token | None:
    return (kind, name) if _NAME.fullmatch(name) else None


def _group(text: str) -> Token | None:
    """A parenthesised group holding a placeholder is optional (Rails' ``(.:format)``) and
    dropped; any other is literal text (``/wiki/shoes_(sport)``)."""
    return ("drop", text) if re.search(r"(?:^|[(.\-_~]):[A-Za-z_]", text) else None


def _tokens(seg: str) -> list[Token]:
    out: list[Token] = []
    lit: list[str] = []

    def flush() -> None:
        if lit:
            out.append(("lit", "".join(lit)))
            lit.clear()

    star = _STAR_SEGMENT.fullmatch(seg)
    if star:  # *, ** and *name only as a whole segment: "*.js" is a file name
        return [("rest", star.group("name") or "path")]
    i = 0
    while i < len(seg):
        c = seg[i]
        if c in "{<[(":
            j = _closing(seg, i)
            if j is not None:
                tok = _group(seg[i:j + 1]) if c == "(" else _bracketed(c, seg[i + 1:j])
                if tok is not None:
                    flush()
                    out.append(tok)
                    i = j + 1
                    continue
        elif c == ":" and (i == 0 or seg[i - 1] in _AFTER_SEPARATOR):
            m = _COLON_NAME.match(seg, i + 1)
            if m:
                flush()
                i = m.end()
                if i < len(seg) and seg[i] == "(":  # Express constraint :id(\d+)
                    j = _closing(seg, i)
                    i = i if j is None else j + 1
                kind = "param"
                if i < len(seg) and seg[i] in "*+":
                    kind, i = "rest", i + 1
                elif i < len(seg) and seg[i] == "?":
                    i += 1
                out.append((kind, m.group()))
                continue
        lit.append(c)
        i += 1
    flush()
    return out


def _written(kind: str, text: str) -> str:
    if kind == "lit":
        return text.lower()
    return {"param": "{" + text + "}", "rest": "{*" + text + "}"}.get(kind, "")


def canonical(segments: list[str]) -> str | None:
    """The canonical template of a path's segments, or None when none holds placeholder
    syntax (a plain path, matched against the templates instead). Canonical text reads back
    as itself: what dropping a part leaves (``{$}*`` → ``*``) is read again."""
    text = _canonical(segments)
    for _ in range(3):
        again = None if text is None else _canonical([s for s in text.split("/") if s])
        if again is None or again == text:
            break
        text = again
    return text


def _canonical(segments: list[str]) -> str | None:
    if not _SYNTAX.search("/".join(segments)):  # most paths: no tokenising, no placeholder
        return None
    parsed = [_tokens(s) for s in segments]
    if not any(k != "lit" for toks in parsed for k, _ in toks):
        return None
    parts = []
    for toks in parsed:
        text = "".join(_written(k, t) for k, t in toks)
        if text:
            parts.append(text)
    return "/" + "/".join(parts)


@dataclass(frozen=True)
class Template:
    """A canonical template, ready to match lower-cased paths (``pattern``) and to be ranked."""

    text: str
    pattern: re.Pattern
    regex: str  # the same pattern for DuckDB's RE2 (full match)
    rank: tuple  # smaller ranks first: see ``compile_template``
    first: str | None  # the first segment when it is all literal (an index key), else None


def compile_template(text: str) -> Template:
    """``text`` in canonical form. Rank: the longest literal prefix first (so a literal
    ``/category/new-arrivals`` beats ``/category/{slug}``), then fewer catch-alls (they are
    fallbacks), then fewer placeholders, then more literal characters, then the text (a
    stable order, whatever order the templates were learned in)."""
    regex, pos, literal, params, rests = [], 0, 0, 0, 0
    for m in _PLACEHOLDER.finditer(text):
        regex.append(re.escape(text[pos:m.start()]))
        literal += m.start() - pos
        if m.group(1):
            regex.append(".+")
            rests += 1
        else:
            regex.append("[^/]+")
            params += 1
        pos = m.end()
    regex.append(re.escape(text[pos:]))
    literal += len(text) - pos
    brace = text.find("{")
    prefix = len(text) if brace < 0 else brace
    head = text[1:].split("/", 1)[0]
    source = "".join(regex)
    rank = (-prefix, rests, params + rests, -literal, text)
    return Template(text, re.compile(source), source, rank, None if "{" in head else head)
