"""Named queries: the ``queries/*.sql`` files, listed and run with typed parameters.

Each file starts with a comment: ``-- name: what it answers`` (continued on further comment
lines) and, when it takes any, ``-- Parameters: $name TYPE (default VALUE), …``. A parameter
without a default is required; ``default NULL`` means "not given". Values arrive as text from
the command line and are converted to the declared type before DuckDB binds them — never
formatted into the SQL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import duckdb

from parallax.db import bind, read_query
from parallax.errors import ConfigError

__all__ = ["NamedQuery", "Param", "list_queries", "load_query", "run_query"]

_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)\s+([A-Z]+)(?:\s*\(default\s+([^)]*)\))?")
_TYPES = ("INTEGER", "DOUBLE", "VARCHAR", "BOOLEAN", "TIMESTAMPTZ")


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # INTEGER | DOUBLE | VARCHAR | BOOLEAN | TIMESTAMPTZ
    default: str | None  # as written in the header; None = required
    required: bool


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    params: tuple[Param, ...]
    sql: str


def list_queries() -> list[NamedQuery]:
    folder = resources.files("parallax.queries")
    return [load_query(e.name[:-4]) for e in sorted(folder.iterdir(), key=lambda e: e.name)
            if e.name.endswith(".sql")]


def load_query(name: str) -> NamedQuery:
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ConfigError(f"query {name!r}: names are lower-case letters, digits and _")
    entry = resources.files("parallax.queries").joinpath(f"{name}.sql")
    if not entry.is_file():
        from parallax.names import did_you_mean

        known = [q.name for q in list_queries()]
        raise ConfigError(f"no query named {name!r}" + (
            did_you_mean(name, known) or f" (known: {', '.join(known)})"))
    sql = entry.read_text(encoding="utf-8")
    header = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        header.append(line[2:].strip())
    at = next((i for i, h in enumerate(header) if h.startswith("Parameters:")), len(header))
    text = " ".join(header[:at])  # the description; parameters may continue over lines
    described = text.split(":", 1)[1].strip() if text.startswith(f"{name}:") else text
    params = tuple(Param(m.group(1), m.group(2), m.group(3), m.group(3) is None)
                   for m in _PARAM.finditer(" ".join(header[at:])))
    for p in params:
        if p.type not in _TYPES:
            raise ConfigError(f"query {name}: parameter ${p.name} has unknown type {p.type}")
    return NamedQuery(name, described, params, sql)


def run_query(con: duckdb.DuckDBPyConnection, name: str,
              values: Mapping[str, Any]) -> duckdb.DuckDBPyRelation:
    """A named query as a relation. Text values (the command line's) are converted to their
    declared types; library callers may pass typed values, which are bound as they are."""
    query = load_query(name)
    known = {p.name: p for p in query.params}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"query {name}: unknown parameter(s) {', '.join(unknown)} "
                          f"(takes: {', '.join(known) or 'none'})")
    bound: dict[str, Any] = {}
    for p in query.params:
        given = values.get(p.name)
        if given is not None and not isinstance(given, str):
            bound[p.name] = given
            continue
        text = given if given is not None else p.default
        if text is None:
            raise ConfigError(f"query {name}: --param {p.name}=… is required ({p.type})")
        bound[p.name] = _convert(name, p, text)
    return read_query(con, query.sql.rstrip().rstrip(";"), bind(query.sql, bound),
                      label=f"query {name}")


def _convert(query: str, p: Param, text: str) -> Any:
    value = text.split(":", 1)[0].strip() if p.default == text else text.strip()
    if value.upper() == "NULL":
        return None
    try:
        if p.type == "INTEGER":
            return int(value)
        if p.type == "DOUBLE":
            return float(value)
        if p.type == "BOOLEAN":
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
        if p.type == "TIMESTAMPTZ":
            dt = datetime.fromisoformat(value)
            return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    except ValueError:
        raise ConfigError(f"query {query}: --param {p.name}={text!r} is not a valid "
                          f"{p.type}") from None
    return value
