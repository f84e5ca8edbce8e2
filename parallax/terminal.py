"""Values from data, made safe to print (docs/privacy.md, "Terminal output").

A survey answer, a URL, an attribute or a file name is shown as the text it is: never read as
Rich markup (``[/bold]``, ``[link=…]``) or emoji codes (``:x:``), and with every control
character a terminal would act on written out instead (``\\x1b``, ``\\x9b``, ``\\u202e``): C0
controls but tab and newline (ESC, BEL, BS, CR …), DEL, the C1 range (8-bit CSI and OSC
among them) and the bidirectional overrides that reorder what is shown. Every command prints
through ``echo`` / ``print_json`` here or the tables of ``parallax.commands.console`` (which use
``safe_text``); the error boundary writes its one line with ``safe_text(…, one_line=True)``.

JSON keeps every value exactly: orjson already writes C0 controls as ``\\u001b``; the C1
range, DEL and the bidirectional controls are written as ``\\uXXXX`` escapes here too.

Imports nothing heavy (no Rich): the plain-text commands stay fast to start.
"""

from __future__ import annotations

import re
import sys
from typing import Any

__all__ = ["echo", "json_bytes", "print_json", "safe_text"]

_BIDI = "\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")  # keeps tab and newline
_CONTROL_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_JSON_ESCAPE = re.compile(f"[\x7f-\x9f{_BIDI}]")  # orjson escapes C0 itself
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _escaped(m: re.Match[str]) -> str:
    n = ord(m.group())
    named = _NAMED.get(n)
    if named:
        return named
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def safe_text(value: Any, *, one_line: bool = False) -> str:
    """``value`` as text a terminal shows as it is: control characters written out as
    ``\\xNN`` / ``\\uNNNN`` (with ``one_line``, tab and newline too); None is ''."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return (_CONTROL_LINE if one_line else _CONTROL).sub(_escaped, text)


def echo(text: Any = "", *, err: bool = False) -> None:
    """One message (newlines kept) on stdout, or stderr, as plain safe text."""
    stream = sys.stderr if err else sys.stdout
    stream.write(safe_text(text) + "\n")
    stream.flush()


def json_bytes(doc: Any) -> bytes:
    """Indented JSON, every value kept (``default=str`` for the odd type), nothing in it a
    terminal acts on."""
    import orjson

    data = orjson.dumps(doc, default=str,
                        option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    if not data.isascii() or b"\x7f" in data:  # else no C1, DEL or bidi control is there
        text = data.decode()
        data = _JSON_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode()
    return data


def print_json(doc: Any) -> None:
    sys.stdout.write(json_bytes(doc).decode() + "\n")
    sys.stdout.flush()
