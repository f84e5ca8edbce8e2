"""One reader for the generic row exports (page views, survey offers, web vitals): a CSV with a
header or one JSON object per line, columns found by common names. A format is a ``RowSpec``
(its names, alias table, what a file must have, how a rejected row is scrubbed) and a sink
that turns one mapped row into table rows (``add``) and hands them over (``take``); the
column lookup, the sniffers and the two reading loops live here once, so every such format
numbers lines, skips blanks, rejects short rows and words its refusals the same way.

Columns are compared without case, spaces or punctuation (``Session ID`` = ``session_id``);
``--field canonical=column`` wins over the common names.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

import orjson
import pyarrow as pa

from parallax.connectors.base import Chunk, FileFormat, ParseContext, Reject, Source
from parallax.connectors.files.analytics_rows import (
    Bad,
    Columns,
    first_line,
    first_object,
    mac_key,
)
from parallax.connectors.files.lines import source_lines
from parallax.connectors.files.redact import Redactor
from parallax.errors import ConfigError, FormatError

__all__ = ["Excluded", "Make", "RowSink", "RowSpec", "Sink", "formats", "lacking", "missing",
           "resolve", "text_value", "timestamp_us", "when"]

Found = Mapping[str, str]  # canonical field → the file's column (or JSON key)


class Excluded(Bad):
    """A row kept out by policy, not because it is bad: stored, but not counted against the
    file's reject rate (``Reject.excluded``)."""


class Sink(Protocol):
    def add(self, row: Mapping[str, Any]) -> None: ...  # raises Bad: the row is rejected
    def full(self) -> bool: ...  # hand over what was read before reading on
    def take(self, records: int, rejects: list[Reject]) -> Iterator[Chunk]: ...


class RowSink:
    """What every sink starts from: rows of one schema, the source name they are stored
    under, and the event-key MAC (keyed like the pseudonyms, so keys are stable per database)."""

    def __init__(self, ctx: ParseContext, source: str, schema: pa.Schema) -> None:
        self.ctx, self.source = ctx, source
        self.key = mac_key(ctx.pseudonymize.key)
        self.rows = Columns(schema)

    def full(self) -> bool:
        # One chunk per file, as offers and web vitals were always read; page views say
        # otherwise (every CHUNK_ROWS rows).
        return False


def missing(spec: RowSpec, found: Found, fields: Mapping[str, str],
            names: list[str]) -> str | None:
    """A --field whose column the file lacks, else the first required column not found."""
    for canon, col in fields.items():
        if canon not in found:
            return f"column {col!r} (--field {canon}={col}) not found; columns: {', '.join(names)}"
    return lacking(spec, found)


@dataclass(frozen=True)
class RowSpec:
    kind: str  # in refusals: "not a {kind} file"
    aliases: Mapping[str, tuple[str, ...]]  # canonical → normalised common names, first wins
    detect: frozenset[str]  # canonical columns whose presence makes a file this format
    redactor: Callable[[ParseContext, Found | None], Redactor]  # None: a line with no mapping
    empty: str  # refusal of an NDJSON file without a record
    required: tuple[str, ...] = ()  # for ``lacking``
    # What a file's columns lack, or None: the header (or the first object) is refused with it.
    missing: Callable[[RowSpec, Found, Mapping[str, str], list[str]], str | None] = missing
    # The first line decides: a first record that does not read is "not a {kind} record". Off
    # (offers): bad records are rejected from the first on, only text that is not JSON before
    # any object refuses the file, and a line with no mapping is scrubbed by the last object's.
    first_decides: bool = True
    # Each record must have the required keys itself (rejected with what it lacks); else only
    # the first is checked and a later one fails on the value it misses.
    each_record: bool = False


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def resolve(spec: RowSpec, names: list[str], fields: Mapping[str, str]) -> dict[str, str]:
    """canonical → column name; --field mappings first, then common names."""
    by_norm: dict[str, str] = {}
    for n in names:
        by_norm.setdefault(_norm(n), n)
    out: dict[str, str] = {}
    for canon, col in fields.items():
        if canon not in spec.aliases:
            raise ConfigError(f"--field {canon}={col}: unknown field {canon!r}; "
                              f"expected one of {', '.join(spec.aliases)}")
        if col in names:
            out[canon] = col
    for canon, aliases in spec.aliases.items():
        if canon not in fields:
            found = next((by_norm[a] for a in aliases if a in by_norm), None)
            if found is not None:
                out[canon] = found
    return out


def lacking(spec: RowSpec, found: Found) -> str | None:
    """The first required column not found, said with the names looked for."""
    canon = next((c for c in spec.required if c not in found), None)
    if canon is None:
        return None
    return (f"no {canon} column (looked for {', '.join(spec.aliases[canon])}; "
            f"use --field {canon}=COLUMN)")


def delimiter(header: str) -> str:
    return max((",", ";", "\t", "|"), key=header.count)


def sniff_csv(spec: RowSpec, head: bytes) -> bool:
    line = first_line(head)
    if not line or line[:1] in (b"{", b"["):
        return False
    text = line.decode("utf-8", "replace").split("\r", 1)[0]  # old Mac line ends too
    try:
        names = next(csv.reader([text], delimiter=delimiter(text)), [])
    except csv.Error:  # binary junk: not a CSV header
        return False
    return spec.detect <= resolve(spec, names, {}).keys()


def sniff_ndjson(spec: RowSpec, head: bytes) -> bool:
    obj = first_object(head)
    return obj is not None and spec.detect <= resolve(spec, list(obj), {}).keys()


Make = Callable[[ParseContext, str], Sink]  # (context, format name) → a fresh sink


def read_csv(spec: RowSpec, make: Make, name: str, source: Source,
             ctx: ParseContext) -> Iterator[Chunk]:
    sink = make(ctx, name)
    with io.TextIOWrapper(source.open(), encoding="utf-8-sig", newline="") as text:
        header_line = text.readline()
        delim = delimiter(header_line)
        names = [n.strip() for n in next(csv.reader([header_line], delimiter=delim), [])]
        found = resolve(spec, names, ctx.fields)
        if problem := spec.missing(spec, found, ctx.fields, names):
            raise FormatError(ctx.file, f"not a {spec.kind} file: {problem}", "line 1")
        index = {canon: names.index(col) for canon, col in found.items()}
        redact = spec.redactor(ctx, found)
        records, rejects = 0, []
        reader = csv.reader(text, delimiter=delim)
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                records += 1
                try:
                    if len(row) != len(names):
                        raise Bad(f"{len(row)} fields, the header has {len(names)}")
                    sink.add({canon: row[i] for canon, i in index.items()})
                except Bad as exc:
                    # line_num counts the lines read after the header line: +1 is the file's
                    rejects.append(Reject(f"line {reader.line_num + 1}", str(exc),
                                          redact.cells(names, row, delim),
                                          excluded=isinstance(exc, Excluded)))
                if sink.full():
                    yield from sink.take(records, rejects)
                    records, rejects = 0, []
        except csv.Error as exc:
            raise FormatError(ctx.file, f"malformed CSV: {exc}",
                              f"line {reader.line_num + 1}") from None
    yield from sink.take(records, rejects)


def read_ndjson(spec: RowSpec, make: Make, name: str, source: Source,
                ctx: ParseContext) -> Iterator[Chunk]:
    """Objects are mapped by their keys, so rows may name their keys differently; what refuses
    the file rather than a line is the spec's (``first_decides``, ``each_record``)."""
    sink = make(ctx, name)
    shapes: dict[tuple, dict[str, str]] = {}  # key order → mapping (rows share shapes)
    last: dict[str, str] | None = None  # the latest object's mapping; None: no record yet
    records, rejects = 0, []
    for lineno, line in source_lines(source):
        records += 1
        started, where = last is not None, f"line {lineno}"
        rec: Any = None
        found: dict[str, str] | None = None
        try:
            rec = orjson.loads(line)
            if not isinstance(rec, dict):
                raise Bad("not a JSON object")
            found = shapes.get(tuple(rec))
            if found is None:
                found = shapes[tuple(rec)] = resolve(spec, list(rec), ctx.fields)
                if not started and not spec.each_record and (
                        problem := spec.missing(spec, found, ctx.fields, list(rec))):
                    noun = "record" if spec.first_decides else "file"
                    raise FormatError(ctx.file, f"not a {spec.kind} {noun}: {problem}", where)
            last = found
            if spec.each_record and (problem := spec.missing(spec, found, ctx.fields, list(rec))):
                raise Bad(problem)
            sink.add({canon: rec.get(key) for canon, key in found.items()})
        except (orjson.JSONDecodeError, Bad) as exc:
            reason = f"invalid JSON: {exc}" if rec is None else str(exc)
            if spec.first_decides and not started and not isinstance(exc, Excluded):
                raise FormatError(ctx.file, f"not a {spec.kind} record ({reason})",
                                  where) from None
            if not spec.first_decides and not started and rec is None:
                raise FormatError(ctx.file, f"not JSON: {exc}", where) from None
            redact = spec.redactor(ctx, found if found is not None or spec.first_decides
                                   else last)
            if rec is None and not spec.first_decides:
                # Undecodable bytes replaced, the line may read as JSON after all: then it is
                # scrubbed by its structure, not as text.
                raw = redact.line(line.decode("utf-8", "replace"))
            else:
                raw = redact.record(rec, line)
            rejects.append(Reject(where, reason, raw, excluded=isinstance(exc, Excluded)))
        if sink.full():
            yield from sink.take(records, rejects)
            records, rejects = 0, []
    if last is None:
        raise FormatError(ctx.file, spec.empty)
    yield from sink.take(records, rejects)


def formats(spec: RowSpec, make: Make, primary: str, csv_format: tuple[str, str],
            ndjson_format: tuple[str, str]) -> list[FileFormat]:
    """The CSV and the NDJSON format of a spec, each as (name, description)."""
    return [FileFormat(name, "analytics", primary, partial(sniff, spec),
                       partial(read, spec, make, name), description)
            for (name, description), sniff, read in ((csv_format, sniff_csv, read_csv),
                                                     (ndjson_format, sniff_ndjson, read_ndjson))]


# --- values, read leniently and alike in every generic row format ---------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_MIN_US, _MAX_US = 0, 4_102_444_800 * 10**6  # 1970 to 2100: anything else is a unit mix-up


def text_value(v: Any) -> str | None:
    if v is None or isinstance(v, bool | dict | list):
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).strip()
    return s or None


def _epoch_us(n: float) -> int:
    # The magnitude says the unit: seconds, ms, µs or ns since 1970 (for dates up to 2100).
    a = abs(n)
    scale = 10**6 if a < 1e11 else 10**3 if a < 1e14 else 1 if a < 1e17 else 10**-3
    return round(n * scale) if scale >= 1 else int(n) // 1000


def timestamp_us(v: Any) -> int:
    """µs since 1970 from epoch numbers (any unit) or ISO 8601 (no offset: UTC)."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        us = _epoch_us(v)
    else:
        s = str(v).strip()
        try:
            us = _epoch_us(int(s)) if s.isdigit() else _epoch_us(float(s))
        except (ValueError, OverflowError):
            try:
                dt = datetime.fromisoformat(s)
            except ValueError:
                raise Bad(f"unrecognised timestamp {s!r}"[:200]) from None
            us = ((dt if dt.tzinfo else dt.replace(tzinfo=UTC)) - _EPOCH) // _US
    if not _MIN_US <= us < _MAX_US:
        raise Bad(f"timestamp {v!r} out of range")
    return us


def when(row: Mapping[str, Any], canon: str) -> int:
    """A row's required time in µs: absent or empty is its own reason."""
    raw = row.get(canon)
    if raw is None or raw == "":
        raise Bad("missing timestamp")
    return timestamp_us(raw)
