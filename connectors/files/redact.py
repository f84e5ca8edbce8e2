"""Personal data kept out of what is stored as written: URLs lose query string and fragment,
and the raw text of a rejected record (``rejects.raw``) is scrubbed the way stored rows are.

A record is scrubbed by its structure when it has one. A JSON object is re-serialised with
identifier values pseudonymised (keys in ``PII_ATTRIBUTE_KEYS`` or the format's ``ids``,
matched by name or dotted path; GA4-style ``{"key": k, "value": {…}}`` params and Jaeger's
``{"key": k, "value": v}`` tags by ``k``), URL
values stripped and never-stored fields left out. A CSV row is written back with the cells
of those columns scrubbed the same way. Text without a usable structure — a line that is not
a JSON object, a row whose cells do not line up with the header — has its URLs stripped and
e-mail addresses (and, in JSON text, the values of identifier keys) pseudonymised.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from parallax.connectors.privacy import PII_ATTRIBUTE_KEYS

__all__ = ["Redactor", "strip_url"]

_URL = re.compile(r"https?://[^\s\"'<>]*", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def strip_url(url: str | None) -> str | None:
    """Without query string and fragment: both may carry personal data (emails, tokens)."""
    if not url:
        return None
    return url.split("#", 1)[0].split("?", 1)[0] or None


def _strip(value: Any) -> Any:
    return value.split("#", 1)[0].split("?", 1)[0] if isinstance(value, str) else value


def _names(names: Iterable[str | None]) -> frozenset[str]:
    return frozenset(n for n in names if n)


@dataclass(frozen=True)
class Redactor:
    """How one file's rejected records are scrubbed for ``rejects.raw``."""

    pseudonymize: Callable[[Any], str | None]
    ids: frozenset[str] = frozenset()  # identifier fields besides PII_ATTRIBUTE_KEYS
    urls: frozenset[str] = frozenset()  # fields whose values lose query string and fragment
    hidden: frozenset[str] = frozenset()  # fields never stored: left out, or emptied in CSV

    @classmethod
    def of(cls, pseudonymize: Callable[[Any], str | None], ids: Iterable[str | None] = (),
           urls: Iterable[str | None] = (), hidden: Iterable[str | None] = ()) -> Redactor:
        """Field names may be None (a column the file lacks)."""
        return cls(pseudonymize, _names(ids) | PII_ATTRIBUTE_KEYS, _names(urls), _names(hidden))

    def record(self, rec: Any, line: bytes | str) -> str:
        """A parsed JSON object re-serialised after scrubbing; anything else (None: the line
        is not JSON) is scrubbed as text."""
        if not isinstance(rec, dict):
            text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
            return self.text(text.rstrip("\r\n"))
        try:
            return orjson.dumps(self._walk(rec, "")).decode()
        except (TypeError, RecursionError):  # unwritable number, deep nesting: scrub as text
            return self.record(None, line)

    def line(self, line: bytes | str) -> str:
        """A JSON line as read: scrubbed by its structure if it parses, as text otherwise."""
        try:
            rec = orjson.loads(line)
        except orjson.JSONDecodeError:
            rec = None
        return self.record(rec, line)

    def cells(self, names: Sequence[str], cells: Sequence[str], delimiter: str = ",") -> str:
        """A CSV row written back with identifier cells pseudonymised and URLs stripped."""
        aligned = len(cells) == len(names)
        out = []
        for i, cell in enumerate(cells):
            cell = cell.encode("utf-8", "replace").decode()  # undecodable bytes → '?'
            name = names[i] if i < len(names) else ""
            if name in self.hidden:
                cell = ""
            elif name in self.ids:
                cell = self.pseudonymize(cell) or ""
            elif name in self.urls:
                cell = _strip(cell)
            if not aligned:  # the cells may have shifted: the column names do not hold
                cell = self.text(cell)
            out.append(cell)
        buf = io.StringIO()
        csv.writer(buf, delimiter=delimiter, lineterminator="").writerow(out)
        return buf.getvalue()

    def text(self, text: str) -> str:
        text = _URL.sub(lambda m: _strip(m.group(0)), text)
        if '"' in text:
            keys = "|".join(re.escape(n) for n in sorted(self.ids))
            text = re.sub(rf'("(?:{keys})"\s*:\s*)(?:"([^"]*)"|(-?\d[\d.eE+-]*))', self._key, text)
        return _EMAIL.sub(lambda m: self.pseudonymize(m.group(0)) or "", text)

    def _key(self, m: re.Match) -> str:
        return f'{m.group(1)}"{self.pseudonymize(m.group(2) or m.group(3)) or ""}"'

    def _walk(self, value: Any, path: str) -> Any:
        if isinstance(value, list):
            return [self._walk(v, path) for v in value]
        if not isinstance(value, dict):
            return value
        if isinstance(name := value.get("key"), str) and "value" in value:
            # A keyed param: GA4's {"key": name, "value": {"string_value": …}} or Jaeger's
            # typed tag {"key": name, "type": …, "value": scalar}.
            v = value["value"]
            if name in self.ids:
                return {**value, "value": {k: self._pseud(x) for k, x in v.items()}
                        if isinstance(v, dict) else self._pseud(v)}
            if name in self.urls:
                return {**value, "value": {k: _strip(x) for k, x in v.items()}
                        if isinstance(v, dict) else _strip(v)}
        out = {}
        for k, v in value.items():
            at = f"{path}{k}"
            if k in self.hidden or at in self.hidden:
                continue
            if k in self.ids or at in self.ids:
                out[k] = self._pseud(v)
            elif k in self.urls or at in self.urls:
                out[k] = _strip(v) if isinstance(v, str) else self._walk(v, f"{at}.")
            else:
                out[k] = self._walk(v, f"{at}.")
        return out

    def _pseud(self, value: Any) -> str | None:
        return None if value is None else self.pseudonymize(value)
