"""Annotations: incidents, deploys and design changes, stored beside the data they explain.

``add`` and ``import_csv`` write the ``annotations`` table (``models/schema/004``); findings,
``parallax incident`` and ``parallax design-check`` read it. An incident tracker's CSV export is
mapped onto the canonical columns by header name (common spellings are known; ``mapping``
overrides), every row is checked before anything is written, and the whole file is stored in
one transaction: a bad row fails the file with one line naming it, and re-importing the same
file changes nothing (rows are keyed by their id).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import overload

import duckdb

from parallax.connectors.routes import normalize_route
from parallax.db import transaction
from parallax.errors import ConfigError, FormatError

__all__ = ["KINDS", "Annotation", "ImportResult", "add", "import_csv", "list_annotations",
           "make", "parse_time", "store"]

KINDS = ("incident", "deploy", "design-change")
FIELDS = ("id", "kind", "starts_at", "ends_at", "service", "route", "dependency", "description")
# Header spellings of common incident-tracker exports (lower-case, spaces for _ and -).
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "incident id", "incident", "key", "number", "incident number"),
    "kind": ("kind", "type", "annotation type"),
    "starts_at": ("starts at", "start", "started", "started at", "start time", "created",
                  "created at", "opened", "opened at", "detected at"),
    "ends_at": ("ends at", "end", "ended", "ended at", "end time", "resolved", "resolved at",
                "closed", "closed at"),
    "service": ("service", "services", "affected service", "service name"),
    "route": ("route", "page", "url", "affected page"),
    "dependency": ("dependency", "component", "affected component", "peer", "upstream"),
    "description": ("description", "title", "summary", "name"),
}


@dataclass(frozen=True)
class Annotation:
    id: str
    kind: str
    starts_at: datetime
    ends_at: datetime | None
    service: str | None
    route: str | None
    dependency: str | None
    description: str | None
    source: str | None = None
    created_at: datetime | None = None

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "starts_at": _iso(self.starts_at),
                "ends_at": _iso(self.ends_at), "service": self.service, "route": self.route,
                "dependency": self.dependency, "description": self.description,
                "source": self.source}

    def overlaps(self, since: datetime | None, until: datetime | None) -> bool:
        """Does it touch [since, until)? Without an end it is a point in time."""
        end = self.ends_at or self.starts_at
        return ((until is None or self.starts_at < until)
                and (since is None or end >= since))


@dataclass(frozen=True)
class ImportResult:
    file: str
    rows: int
    added: int
    updated: int
    unchanged: int


def parse_time(value: str, where: str) -> datetime:
    """ISO 8601 date or time; a time without an offset is UTC."""
    text = value.strip().replace(" UTC", "").replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not an ISO date or time "
                          "(e.g. 2026-10-08T17:00Z)") from None
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def _kind(value: str, where: str) -> str:
    kind = value.strip().lower().replace("_", "-").replace(" ", "-")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind {value!r} is not one of {', '.join(KINDS)}")
    return kind


def _text(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def make(*, kind: str, starts_at: datetime, ends_at: datetime | None = None,
         service: str | None = None, route: str | None = None, dependency: str | None = None,
         description: str | None = None, id: str | None = None, source: str | None = None,
         where: str = "annotation", routes: Callable[[str], str | None] = normalize_route,
         ) -> Annotation:
    """A checked annotation; without an id, one derived from what it says (so adding the same
    annotation twice gives the same id)."""
    kind = _kind(kind, where)
    if ends_at is not None and ends_at < starts_at:
        raise ConfigError(f"{where}: ends ({_iso(ends_at)}) before it starts ({_iso(starts_at)})")
    route = routes(route) if route is not None and _text(route) else None
    service, dependency = _text(service), _text(dependency)
    if id is None:
        key = "|".join(str(x) for x in (kind, _iso(starts_at), service, route, dependency))
        id = f"{kind}-{starts_at:%Y%m%dT%H%M}-{hashlib.sha256(key.encode()).hexdigest()[:6]}"
    return Annotation(id, kind, starts_at, ends_at, service, route, dependency,
                      _text(description), source)


def store(con: duckdb.DuckDBPyConnection, rows: Iterable[Annotation]) -> tuple[int, int, int]:
    """Upsert by id in one transaction: (added, updated, unchanged)."""
    added = updated = unchanged = 0
    with transaction(con):
        for a in rows:
            old = con.execute("SELECT kind, starts_at, ends_at, service, route, dependency, "
                              "description FROM annotations WHERE id = ?", [a.id]).fetchall()
            new = (a.kind, a.starts_at, a.ends_at, a.service, a.route, a.dependency,
                   a.description)
            if old and old[0] == new:
                unchanged += 1
                continue
            values = [a.kind, a.starts_at, a.ends_at, a.service, a.route, a.description,
                      a.dependency, a.source, a.id]
            if old:  # created_at stays: when Parallax first stored it
                con.execute("UPDATE annotations SET kind = ?, starts_at = ?, ends_at = ?, "
                            "service = ?, route = ?, description = ?, dependency = ?, "
                            "source = ? WHERE id = ?", values)
                updated += 1
            else:
                con.execute("INSERT INTO annotations (kind, starts_at, ends_at, service, route, "
                            "description, dependency, source, id, created_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())", values)
                added += 1
    return added, updated, unchanged


def add(con: duckdb.DuckDBPyConnection, annotation: Annotation) -> bool:
    """Store one annotation; False when an identical one was already there."""
    added, updated, _ = store(con, [annotation])
    return bool(added or updated)


def list_annotations(con: duckdb.DuckDBPyConnection, *, kind: str | None = None,
                     ) -> list[Annotation]:
    rows = con.execute(
        "SELECT id, kind, starts_at, ends_at, service, route, dependency, description, source, "
        "created_at FROM annotations WHERE ?::VARCHAR IS NULL OR kind = ? "
        "ORDER BY starts_at, id", [kind, kind]).fetchall()
    return [Annotation(i, k, _utc(s), _utc(e), svc, r, d, desc, src, _utc(c))
            for i, k, s, e, svc, r, d, desc, src, c in rows]


def import_csv(con: duckdb.DuckDBPyConnection, path: Path | str,
               mapping: Mapping[str, str] | None = None, *, default_kind: str = "incident",
               routes: Callable[[str], str | None] = normalize_route) -> ImportResult:
    """Load an incident-tracker CSV export; all rows or none."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            body = [(i, row) for i, row in enumerate(reader, start=2) if any(c.strip()
                                                                                for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FormatError(str(path), f"cannot read as CSV: {exc}") from None
    if not header:
        raise FormatError(str(path), "empty file: expected a header row")
    cols = _columns(header, mapping or {}, str(path))
    out, seen = [], set()
    for line, row in body:
        where = f"{path}: line {line}"
        if len(row) != len(header):
            raise FormatError(str(path), f"{len(row)} fields, the header has {len(header)}",
                              f"line {line}")
        get = {k: row[i] for k, i in cols.items()}
        try:
            if not _text(get.get("starts_at")):
                raise ConfigError(f"{where}: no start time (column "
                                  f"{header[cols['starts_at']]!r} is empty)")
            a = make(kind=get.get("kind") or default_kind,
                     starts_at=parse_time(get["starts_at"], where),
                     ends_at=(parse_time(get["ends_at"], where) if _text(get.get("ends_at"))
                              else None),
                     service=get.get("service"), route=get.get("route"),
                     dependency=get.get("dependency"), description=get.get("description"),
                     id=_text(get.get("id")), source=f"import:{path.name}", where=where,
                     routes=routes)
        except ConfigError as exc:
            raise FormatError(str(path), str(exc).removeprefix(f"{where}: "),
                              f"line {line}") from None
        if a.id in seen:
            raise FormatError(str(path), f"id {a.id!r} appears twice", f"line {line}")
        seen.add(a.id)
        out.append(a)
    added, updated, unchanged = store(con, out)
    return ImportResult(str(path), len(out), added, updated, unchanged)


def _columns(header: list[str], mapping: Mapping[str, str], where: str) -> dict[str, int]:
    norm: dict[str, int] = {}
    for i, h in enumerate(header):  # "Started At (UTC)" → "started at"
        key = re.sub(r"\(.*?\)", " ", h.lower()).replace("_", " ").replace("-", " ")
        norm.setdefault(" ".join(key.split()), i)
    cols: dict[str, int] = {}
    for field, column in mapping.items():
        if field not in FIELDS:
            raise ConfigError(f"--map {field}={column}: unknown field (expected one of "
                              f"{', '.join(FIELDS)})")
        if column not in header:
            raise ConfigError(f"--map {field}={column}: {where} has no column {column!r}")
        cols[field] = header.index(column)
    for field in FIELDS:
        if field not in cols:
            hit = next((norm[a] for a in ALIASES[field] if a in norm), None)
            if hit is not None:
                cols[field] = hit
    if "starts_at" not in cols:
        raise FormatError(where, "no start-time column (e.g. 'Started at'); name it with "
                          "--map starts_at=COLUMN", "line 1")
    return cols


@overload
def _utc(dt: datetime) -> datetime: ...


@overload
def _utc(dt: None) -> None: ...


def _utc(dt: datetime | None) -> datetime | None:
    return dt.astimezone(UTC) if dt is not None else None


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
