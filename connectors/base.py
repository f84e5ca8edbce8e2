"""What a file format module gives the loader, and what the loader gives it back.

A format is declared as data (``FileFormat``): a name, the kind of data it holds, a content
sniffer and a parser. The parser reads a ``Source`` and yields ``Chunk``s of canonical rows;
bad records inside a good file become ``Reject``s; a file that cannot be read at all raises
``FormatError``. Parsers know their format and nothing about storage or statistics.

Frames carry canonical column names (a subset is fine; ``load_id`` is added by the loader).
Timestamps must be Arrow ``timestamp(..., tz="UTC")`` or timezone-aware datetimes; JSON
columns are JSON text.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from parallax.connectors.privacy import Pseudonymizer
from parallax.connectors.routes import RouteNormalizer

__all__ = ["Chunk", "FileFormat", "NativeStage", "ParseContext", "Reject", "Source"]

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Reject:
    """A record kept out of the canonical tables, stored in ``rejects`` with its reason.

    ``excluded`` marks records kept out by policy rather than because they are bad (survey
    previews and tests): they are stored and counted, but do not count toward the file's
    ``--max-reject-rate``.
    """

    location: str  # 'line 12', 'record 3', 'row 7'
    reason: str
    raw: str | None = None
    excluded: bool = False


@dataclass(frozen=True)
class Chunk:
    table: str  # canonical table name
    frame: Any  # pyarrow.Table | polars.DataFrame | dict[str, list]
    records: int = 0  # source records this chunk accounts for (rows read, rejects included)
    rejects: tuple[Reject, ...] = ()
    # What the parser wants the summary to say, as counts summed over the file's chunks:
    # (("tickets", 40), ("with a reason", 31)) → "40 tickets, 31 with a reason".
    notes: tuple[tuple[str, int], ...] = ()

    def arrow(self) -> pa.Table:
        f = self.frame
        if isinstance(f, pa.Table):
            return f
        if isinstance(f, dict):
            return pa.table(f)
        return f.to_arrow()  # polars


@dataclass(frozen=True)
class ParseContext:
    file: str  # label used in messages and in the rejects table
    pseudonymize: Pseudonymizer
    route: RouteNormalizer
    fields: Mapping[str, str] = field(default_factory=dict)  # --field canonical=column
    options: Mapping[str, str] = field(default_factory=dict)  # --metric, session_param, …


class _CountingReader(io.RawIOBase):
    """Counts bytes of the underlying (possibly compressed) file, for progress."""

    def __init__(self, raw: IO[bytes], on_read: Callable[[int], None] | None) -> None:
        self._raw, self._on_read = raw, on_read

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        n = self._raw.readinto(b)  # type: ignore[attr-defined]  # files and decompressors have it
        if n and self._on_read:
            self._on_read(n)
        return n or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


@dataclass(frozen=True)
class Source:
    """One input file. ``open()`` gives decompressed bytes; ``.gz`` is detected by magic."""

    path: Path
    on_read: Callable[[int], None] | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        return str(self.path)

    @property
    def gzipped(self) -> bool:
        with open(self.path, "rb") as f:
            return f.read(2) == GZIP_MAGIC

    def open(self) -> IO[bytes]:
        # The returned reader owns the file handle and closes it.
        raw = io.BufferedReader(_CountingReader(open(self.path, "rb"), self.on_read), 1 << 20)  # noqa: SIM115
        if raw.peek(2)[:2] == GZIP_MAGIC:
            return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        return raw

    def head(self, size: int = 1 << 16) -> bytes:
        with open(self.path, "rb") as f:
            start = f.read(2)
            f.seek(0)
            if start == GZIP_MAGIC:
                with gzip.GzipFile(fileobj=f, mode="rb") as g:
                    try:
                        return g.read(size)
                    except (OSError, EOFError):
                        return b""
            return f.read(size)


# (connection, file, context, load id) → (records read, rows staged into stage_<primary> — or,
# for a format that stages several tables, rows staged per table), or None to have ``parse``
# read the file instead.
NativeStage = Callable[[Any, Source, ParseContext, str],
                       tuple[int, int | Mapping[str, int]] | None]


@dataclass(frozen=True)
class FileFormat:
    name: str  # 'otlp-json', 'qualtrics-csv', …
    kind: str  # traces | feedback | analytics
    primary: str  # the canonical table whose rows the summary counts
    sniff: Callable[[bytes], bool]  # True if the first bytes look like this format
    parse: Callable[[Source, ParseContext], Iterator[Chunk]]
    description: str = ""
    # DuckDB reads the file into stage_<table> itself; only for a file without rejects
    # (anything doubtful returns None, and ``parse`` reads the whole file).
    stage_native: NativeStage | None = None
    # Names (globs) of files this format reads beside its data file (a survey's details, the
    # ticket-fields export): found among the files to load, they are skipped, not refused.
    companions: tuple[str, ...] = ()
