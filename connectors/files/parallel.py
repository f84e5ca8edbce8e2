"""Parse a large line-oriented file on every core, yielding chunks in file order.

A JSON-lines file is cut at line boundaries into segments of ``SEGMENT_BYTES``; worker
processes parse the segments (the GIL makes threads useless for orjson + row building) while
the loading process stages the chunks in DuckDB. At most two segments per worker are in
flight, so memory stays flat however large the file. Compressed files and small files are
parsed in the loading process: a gzip stream cannot be cut, and below ``MIN_PARALLEL_BYTES``
starting workers costs more than it saves.

Workers see line numbers relative to their segment; rejects are renumbered here, in order.
Workers start with ``forkserver`` (never ``fork``: the loading process runs DuckDB threads), so
a script that calls the loader must guard its entry point with ``if __name__ == "__main__"``,
as multiprocessing requires; ``PARALLAX_WORKERS=1`` parses in the loading process instead.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from parallax.connectors.base import Chunk, ParseContext, Source
from parallax.connectors.files.lines import numbered_lines, source_lines

__all__ = ["LineParser", "line_chunks", "parallel_chunks", "use_parallel", "workers"]

SEGMENT_BYTES = 16 << 20
MIN_PARALLEL_BYTES = 64 << 20

# (numbered non-blank lines, context, is this the start of the file?) → chunks
LineParser = Callable[[Iterable[tuple[int, bytes]], ParseContext, bool], Iterator[Chunk]]


def workers() -> int:
    """``$PARALLAX_WORKERS`` if set (1 turns parallel parsing off), else the usable cores."""
    env = os.environ.get("PARALLAX_WORKERS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def use_parallel(source: Source) -> bool:
    return (workers() > 1 and not source.gzipped
            and source.path.stat().st_size >= MIN_PARALLEL_BYTES)


def line_ranges(path: os.PathLike, size: int, segment: int | None = None) -> list[tuple[int, int]]:
    """Byte ranges covering the file, each ending just after a newline (or at the end)."""
    segment = segment or SEGMENT_BYTES
    bounds = [0]
    with open(path, "rb") as f:
        while bounds[-1] + segment < size:
            f.seek(bounds[-1] + segment)
            f.readline()
            if f.tell() >= size:
                break
            bounds.append(f.tell())
    bounds.append(size)
    return list(zip(bounds, bounds[1:], strict=False))


_worker_ctx: ParseContext | None = None


def _init(ctx: ParseContext) -> None:
    global _worker_ctx
    _worker_ctx = ctx


def _segment(parse: LineParser, path: str, start: int, end: int) -> tuple[list[Chunk], int]:
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    assert _worker_ctx is not None
    chunks = list(parse(numbered_lines(lines, start == 0), _worker_ctx, start == 0))
    return chunks, data.count(b"\n")


def _renumber(chunk: Chunk, offset: int) -> Chunk:
    if not offset or not chunk.rejects:
        return chunk
    rejects = tuple(
        dataclasses.replace(r, location=f"line {int(r.location[5:]) + offset}")
        if r.location.startswith("line ") and r.location[5:].isdigit() else r
        for r in chunk.rejects
    )
    return dataclasses.replace(chunk, rejects=rejects)


def line_chunks(source: Source, ctx: ParseContext, parse: LineParser) -> Iterator[Chunk]:
    """The file's chunks, parsed on every core when it is worth it, else in this process."""
    if use_parallel(source):
        yield from parallel_chunks(source, ctx, parse)
        return
    yield from parse(source_lines(source), ctx, True)


def parallel_chunks(source: Source, ctx: ParseContext, parse: LineParser) -> Iterator[Chunk]:
    size = source.path.stat().st_size
    ranges = deque(line_ranges(source.path, size))
    n = workers()
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    pool = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context(method),
                               initializer=_init, initargs=(ctx,))
    pending: deque[tuple[Future, int]] = deque()
    offset = 0
    try:
        while ranges or pending:
            while ranges and len(pending) < 2 * n:
                start, end = ranges.popleft()
                pending.append((pool.submit(_segment, parse, str(source.path), start, end),
                                end - start))
            future, nbytes = pending.popleft()
            chunks, lines = future.result()
            for chunk in chunks:
                yield _renumber(chunk, offset)
            offset += lines
            if source.on_read:
                source.on_read(nbytes)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
