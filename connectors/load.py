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
from parallax.connectors.tombstones import drop_erased
from parallax.db import read_sql
from parallax.errors import ConfigError, FormatError, IngestError, RejectRateError

__all__ = ["FileSummary", "InTransaction", "IngestOptions", "Progress", "expand_paths",
           "ingest_files"]


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
    [(previous,)] = con.execute("SELECT current_setting('memory_limit')").fetchall()
    con.execute("SET memory_limit = ?", [opts.memory_limit])
    try:
        # Routes are parsed with the templates stored so far; each file's transaction then
        # learns from its spans and re-routes what new templates move (route_learning).
        route = prepare(con, opts.route)
        out = []
        for p in paths:
            summary, route = _ingest_one(con, kind, Path(p), replace(opts, route=route), fixed,
                                         progress, (labels or {}).get(Path(p)), in_transaction)
            out.append(summary)
        return out
    finally:
        con.execute("SET memory_limit = ?", [previous])


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
            staged, rejects, records, notes = _stage_all(con, fmt, source, ctx, load_id,
                                                         opts.max_reject_rate)
            erased = drop_erased(con, ctx.pseudonymize, staged)
            sha = hashing()
            con.execute("BEGIN TRANSACTION")
            try:
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
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            _drop_stage(con)
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


# Rows per staging insert: whole row groups (122,880 rows) rather than many small appends.
STAGE_ROWS = 2 * 122_880

# Staging: parsed chunks go to the connection's temporary tables stage_<table>: never written
# to the database file only to be read back by the merge (DuckDB spills them to its temporary
# directory beyond the memory limit, so memory stays flat however large the file); nothing is
# visible in the canonical tables until the one merge transaction. Stage tables are dropped
# afterwards; those an older version staged into the file, left behind when its process
# died, are dropped before the next load.

def _stage_all(con, fmt: FileFormat, source: Source, ctx: ParseContext, load_id: str,
               max_reject_rate: float
               ) -> tuple[dict[str, int], list[Reject], int, dict[str, int]]:
    _drop_stage(con)
    if fmt.stage_native is not None:
        native = fmt.stage_native(con, source, ctx, load_id)
        if native is not None:  # DuckDB read it all: no rejects
            records, rows = native
            done = dict(rows) if isinstance(rows, Mapping) else {fmt.primary: rows}
            return done, [], records, {}
        _drop_stage(con)
    staged: dict[str, int] = {}
    buffered: dict[str, list[pa.Table]] = {}
    rejects: list[Reject] = []
    records = 0
    notes: dict[str, int] = {}
    for chunk in fmt.parse(source, ctx):
        records += chunk.records
        rejects.extend(chunk.rejects)
        for what, n in chunk.notes:
            notes[what] = notes.get(what, 0) + n
        tables = buffered.setdefault(chunk.table, [])
        tables.append(chunk.arrow())
        if sum(t.num_rows for t in tables) >= STAGE_ROWS:
            _stage(con, chunk.table, tables, load_id, staged)
            tables.clear()
    for table, tables in buffered.items():
        _stage(con, table, tables, load_id, staged)
    bad = [r for r in rejects if not r.excluded]
    if records and len(bad) / records > max_reject_rate:
        raise RejectRateError(
            f"{ctx.file}: {len(bad)} of {records} records rejected "
            f"({len(bad) / records:.1%} > {max_reject_rate:.1%}); "
            f"first at {bad[0].location}: {bad[0].reason}"
        )
    return staged, rejects, records, notes


def _merge_all(con, fmt: FileFormat, staged: dict[str, int], rejects: list[Reject],
               records: int, load_id: str, label: str,
               sha: str) -> tuple[int, int, int, int]:
    _store_rejects(con, rejects, load_id, label, sha)
    loaded_by_table = {table: _merge(con, table, load_id) for table in _merge_order(staged)}
    staged_primary = staged.get(fmt.primary, 0)
    loaded = loaded_by_table.get(fmt.primary, 0)
    return records, loaded, staged_primary - loaded, len(rejects)


def _stage(con, table: str, frames: list[pa.Table], load_id: str,
           staged: dict[str, int]) -> None:
    if table not in staged:
        # The table name comes from our own format modules, never from user input.
        con.execute(f"CREATE TEMP TABLE stage_{table} AS SELECT * FROM {table} LIMIT 0")
        staged[table] = 0
    frame = pa.concat_tables(frames, promote_options="default") if len(frames) > 1 else (
        frames[0] if frames else None)
    if frame is None or frame.num_rows == 0:
        return
    con.register("_parallax_chunk", frame)
    try:
        con.execute(f"INSERT INTO stage_{table} BY NAME "
                    "SELECT *, $load_id AS load_id FROM _parallax_chunk", {"load_id": load_id})
    finally:
        con.unregister("_parallax_chunk")
    staged[table] += frame.num_rows


def _drop_stage(con) -> None:
    # this connection's temporary stage tables, and stage tables a version that staged into
    # the database file left behind when its process died
    names = con.execute(
        "SELECT database_name, table_name FROM duckdb_tables() "
        "WHERE starts_with(table_name, 'stage_') AND schema_name = 'main' "
        "AND (temporary OR database_name = current_database())"
    ).fetchall()
    for database, name in names:
        con.execute(f'DROP TABLE IF EXISTS "{database}".main."{name}"')


# Sessions are merged after page views and events so their SQL can read the stored events.
_ORDER = ("spans", "feedback", "events", "page_views", "sessions", "interactions")


def _merge_order(staged: dict[str, int]) -> list[str]:
    return sorted(staged, key=lambda t: _ORDER.index(t) if t in _ORDER else len(_ORDER))


def _merge(con, table: str, load_id: str) -> int:
    """Run models/load/<table>.sql; its first INSERT's count is the rows loaded."""
    statements = [s for s in read_sql("models", f"load/{table}.sql").split(";\n") if _sql(s)]
    loaded = None
    for stmt in statements:
        params = {"load_id": load_id} if "$load_id" in stmt else None
        result = con.execute(stmt, params).fetchall() if params else con.execute(stmt).fetchall()
        if loaded is None and _sql(stmt).upper().startswith("INSERT"):
            loaded = int(result[0][0]) if result else 0
    return loaded or 0


def _sql(stmt: str) -> str:
    """The statement without its leading comment lines ('' if it has no SQL)."""
    lines = [line for line in stmt.splitlines() if line.strip()]
    while lines and lines[0].lstrip().startswith("--"):
        lines.pop(0)
    return "\n".join(lines).strip()


def _store_rejects(con, rejects: list[Reject], load_id: str, file: str, sha: str) -> None:
    if not rejects:
        return
    table = pa.table({
        "load_id": [load_id] * len(rejects),
        "file": [file] * len(rejects),
        "location": [r.location for r in rejects],
        "reason": [r.reason for r in rejects],
        "raw": [None if r.raw is None else r.raw[:10_000] for r in rejects],
    })
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
            box["sha"] = _sha256(path)
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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
