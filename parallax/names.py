"""Names a user types (routes, dependencies, services, annotation ids, query names) checked
against what exists, with the nearest suggested: "did you mean /checkout?"."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from parallax.errors import ConfigError

__all__ = ["did_you_mean", "known_names", "require_known"]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the nearest known name, '' when none is near. Case is
    ignored in the comparison (``/Checkout`` is near ``/checkout``)."""
    by_lower = {k.lower(): k for k in known}
    near = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean {by_lower[near[0]]}?)" if near else ""


def known_names(con, kind: str) -> list[str]:
    """Routes, services or dependencies seen in the data, or annotation ids."""
    from parallax.db import read_sql

    return [n for (n,) in con.execute(read_sql("models", "names/known.sql"),
                                      {"kind": kind}).fetchall()]


def require_known(con, kind: str, name: str | None, flag: str) -> None:
    """Refuse a name the data has never seen, before any work: one line, the nearest name."""
    if name is None:
        return
    known = known_names(con, kind)
    if name not in known:
        where = "annotate list" if kind == "annotation" else "overview"
        raise ConfigError(f"{flag} {name!r}: no such {kind} in the database" + (
            did_you_mean(name, known) or f" (see `parallax {where}`)"))
