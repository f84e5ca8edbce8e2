"""The loader: files in, canonical rows out, one transaction per file.

For each file: hash it (in a thread, while it is parsed), detect its format, parse it into
chunks staged in temporary tables, check the reject rate, merge the staged rows into the
canonical tables by natural key (``models/load/<table>.sql``) and record the load in
``loads`` — all or nothing. A failed file leaves no rows behind, only a ``loads`` row with
status ``failed`` and the reason.
"""

from __future__ import annotations

import glob
import hashlib
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from parallax.connectors.base import FileFormat, ParseContext, Reject, Source
from parallax.connectors.files import KINDS, detect, formats, get_format
from parallax.connectors.privacy import Pseudonymizer
from parallax.connectors.route_learning import after_load, prepare
from parallax.connectors.routes import RouteNormalizer
from parallax.connectors.stage import drop_stage, merge, merge_order, stage_all
from parallax.connectors.tombstones import drop_erased
from parallax.db import read_sql, transaction
from parallax.db import settings as db_settings
from parallax.errors import ConfigError, FormatError, IngestError, RejectRateError

__all__ = ["FileSummary", "InTransaction", "IngestOptions", "Progress", "expand_paths",
           "file_sha256", "ingest_files"]


@dataclass(frozen=True)
class IngestOptions:
    pseudonymize: Pseudonymizer
    route: RouteNormalizer = field(default_factory=RouteNormalizer)
    fields: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    max_reject_rate: float = 0.01
    source: str = "file"
    # DuckDB's memory cap while loading: beyond it the merge spills to disk instead of
    # growing with the file (DuckDB's own default is 80 % of RAM).
    memory_limit: str = "512MB"


@dataclass(frozen=True)
class FileSummary:
    file: str
    format: str
    load_id: str
    rows_read: int
    rows_loaded: int
    duplicates: int
    rejected: int
    seconds: float
    notes: tuple[str, ...] = ()  # the parser's counts ("31 with a reason"), or why skipped


InTransaction = Callable[[duckdb.DuckDBPyConnection, Path], None]


class Progress(Protocol):
    def start(self, label: str, total_bytes: int) -> None: ...
    def advance(self, nbytes: int) -> None: ...
    def finish(self) -> None: ...


def expand_paths(patterns: Iterable[str]) -> list[Path]:
    """Files named, matched by a glob, or found (recursively, hidden ones skipped) in a folder."""
    out: list[Path] = []
    for pattern in patterns:
        p = Path(pattern)
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*")
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        elif p.is_file():
            found = [p]
        else:
            found = sorted(Path(m) for m in glob.glob(pattern, recursive=True) if Path(m).is_file())
        if not found:
            raise IngestError(f"{pattern}: no such file, or no file matches")
        out.extend(f for f in found if f not in out)
    return out


def ingest_files(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    paths: Sequence[Path],
    opts: IngestOptions,
    *,
    format: str | FileFormat | None = None,
    progress: Progress | None = None,
    labels: Mapping[Path, str] | None = None,
    in_transaction: InTransaction | None = None,
) -> list[FileSummary]:
    """Load each file in its own transaction; stop at the first file that fails.

    Pull connectors and the receiver spool what they fetch to files and load them here, so
    every entry point shares one mapping. ``labels`` names a file in messages, ``loads`` and
    ``rejects`` (e.g. ``qualtrics:SV_1 page 3``) instead of its temporary path;
    ``in_transaction(con, path)`` runs inside the file's transaction just before COMMIT, so
    state that describes the rows (a pull cursor) commits with them or not at all.
    """
    if kind not in KINDS:
        raise ConfigError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    fixed = get_format(kind, format) if isinstance(format, str) else format
    with db_settings(con, memory_limit=opts.memory_limit):
        # Routes are parsed with the templates stored so far; each file's transaction then
        # learns from its spans and re-routes what new templates move (route_learning).
        route = prepare(con, opts.route)
        out = []
        for p in paths:
            summary, route = _ingest_one(con, kind, Path(p), replace(opts, route=route), fixed,
                                         progress, (labels or {}).get(Path(p)), in_transaction)
            out.append(summary)
        return out


def _ingest_one(con, kind, path, opts, fixed, progress, label,
                in_transaction) -> tuple[FileSummary, RouteNormalizer]:
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    load_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    label = label or str(path)
    fmt_name = fixed.name if fixed else None
    sha = None
    hashing = _sha256_beside(path)
    try:
        source = Source(path, on_read=progress.advance if progress else None)
        fmt = fixed or detect(kind, source.head())
        # with --format too, the data files' companions in the folder are read beside
        # them, not parsed as data
        companion = (fixed.name if fixed and _is_companion(fixed, source)
                     else None if fmt else _companion_of(kind, path))
        if companion:
            return FileSummary(label, "companion", load_id, 0, 0, 0, 0,
                               round(time.perf_counter() - t0, 3),
                               (f"skipped: read beside the data by {companion}",)), opts.route
        if fmt is None:
            names = ", ".join(f.name for f in formats(kind))
            raise FormatError(label, f"not a recognised {kind} file (tried {names}; use --format)")
        fmt_name = fmt.name
        if progress:
            progress.start(label, path.stat().st_size)
        ctx = ParseContext(label, opts.pseudonymize, opts.route, opts.fields, opts.options)
        try:
            staged, rejects, records, notes = stage_all(con, fmt, source, ctx, load_id,
                                                         opts.max_reject_rate)
            erased = drop_erased(con, ctx.pseudonymize, staged)
            sha = hashing()
            with transaction(con):
                if erased:  # counted, not stored: they belong to people erased before
                    con.execute("INSERT INTO erasure_skips VALUES (?, ?)", [load_id, erased])
                counts = _merge_all(con, fmt, staged, rejects, records, load_id, label, sha)
                con.execute(
                    "INSERT INTO loads VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, now(), 'ok', NULL, ?, ?, ?, ?)",
                    [load_id, opts.source, kind, label, sha, fmt.name, started, *counts],
                )
                route = after_load(con, opts.route, load_id, kind)
                if in_transaction is not None:
                    in_transaction(con, path)
        finally:
            drop_stage(con)
    except (FormatError, RejectRateError, IngestError) as exc:
        sha = sha or _quietly(hashing)
        _record_failure(con, load_id, opts.source, kind, label, sha, fmt_name, started, str(exc))
        raise
    except duckdb.Error as exc:
        msg = f"{label}: cannot store rows: {_first_line(exc)}"
        sha = sha or _quietly(hashing)
        _record_failure(con, load_id, opts.source, kind, label, sha, fmt_name, started, msg)
        raise IngestError(msg) from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        err = FormatError(label, f"cannot read file: {_first_line(exc)}")
        sha = sha or _quietly(hashing)
        _record_failure(con, load_id, opts.source, kind, label, sha, fmt_name, started, str(err))
        raise err from None
    finally:
        if progress:
            progress.finish()
    read, loaded, dup, rejected = counts
    return FileSummary(label, fmt.name, load_id, read, loaded, dup, rejected,
                       round(time.perf_counter() - t0, 3),
                       tuple(f"{n:,} {what}" for what, n in notes.items())), route


def _is_companion(fmt: FileFormat, source: Source) -> bool:
    """The file is named as one of ``fmt``'s companions and does not look like its data
    (a data file whose name happens to match still loads)."""
    return (any(source.path.match(p) for p in fmt.companions)
            and not fmt.sniff(source.head()))


def _companion_of(kind: str, path: Path) -> str | None:
    """The format that reads ``path`` as a companion of its data files, if any."""
    return next((f.name for f in formats(kind)
                 if any(path.match(pattern) for pattern in f.companions)), None)


def _merge_all(con, fmt: FileFormat, staged: dict[str, int], rejects: list[Reject],
               records: int, load_id: str, label: str,
               sha: str) -> tuple[int, int, int, int]:
    _store_rejects(con, rejects, load_id, label, sha)
    loaded_by_table = {table: merge(con, table, load_id) for table in merge_order(staged)}
    staged_primary = staged.get(fmt.primary, 0)
    loaded = loaded_by_table.get(fmt.primary, 0)
    return records, loaded, staged_primary - loaded, len(rejects)


def _store_rejects(con, rejects: list[Reject], load_id: str, file: str, sha: str) -> None:
    if not rejects:
        return
    from parallax.connectors.arrays import column  # pa.table of lists would import pandas

    texts: dict[str, list[str | None]] = {
        "load_id": [load_id] * len(rejects),
        "file": [file] * len(rejects),
        "location": [r.location for r in rejects],
        "reason": [r.reason for r in rejects],
        "raw": [None if r.raw is None else r.raw[:10_000] for r in rejects],
    }
    table = pa.table({name: column(values, pa.string()) for name, values in texts.items()})
    con.register("_parallax_rejects", table)
    try:
        con.execute(read_sql("models", "load/rejects.sql"), {"sha256": sha})
    finally:
        con.unregister("_parallax_rejects")


def _record_failure(con, load_id, source, kind, label, sha, fmt_name, started, message) -> None:
    con.execute(
        "INSERT INTO loads VALUES "
        "(?, ?, ?, ?, ?, ?, ?, now(), 'failed', ?, NULL, NULL, NULL, NULL)",
        [load_id, source, kind, label, sha, fmt_name, started, message],
    )


def _sha256_beside(path: Path) -> Callable[[], str]:
    """The file's sha256, computed in a thread while the file is parsed (hashlib lets go of
    the GIL on large blocks): call the result to wait for it; it raises what hashing raised."""
    box: dict = {}

    def run() -> None:
        try:
            box["sha"] = file_sha256(path)
        except BaseException as exc:  # handed to whoever waits for the hash
            box["error"] = exc

    worker = threading.Thread(target=run, name="parallax-sha256", daemon=True)
    worker.start()

    def result() -> str:
        worker.join()
        if "error" in box:
            raise box["error"]
        return box["sha"]

    return result


def _quietly(hashing: Callable[[], str]) -> str | None:
    """The hash for a failed load's ledger row, None if the file could not be hashed."""
    try:
        return hashing()
    except (OSError, ValueError):
        return None


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes as stored (a .gz file's compressed bytes): the ledger's."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
