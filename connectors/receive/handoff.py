"""Moving spooled batches into the database: the receiver's only use of the DuckDB file.

DuckDB lets one process write a database file at a time, so the receiver never keeps it
open. Every ``handoff_seconds`` a round runs in a worker process (parsing and loading must
not take the GIL from the event loop that acknowledges requests). A round opens the database
without waiting — if a command holds it, or is waiting for it (``<db>.waiting`` touched in
the last second), the batches stay spooled and the next round tries again — loads each
stream's sealed batches as one file through ``ingest_files`` (the mapping file ingest uses;
one transaction, labelled ``receiver:<stream> <first>…<last>`` in ``loads``), deletes them,
folds the new loads into the join model (``refresh_pages``) and closes the database. A round
loads at most 1-8 MB — less after a round that held the database for more than ``ROUND_S``
(a busy machine), more after a quick one — and stops early when a command starts waiting; the
next round waits at least as long as the last one held the database: analysis commands
(``parallax.db.connect`` waits for the lock) get in within about a second, and tools that do
not wait (the duckdb shell) find the file free at least half the time.

A single batch is loaded where it lies; several are first copied into one file. When that
copy finds the disk full, each batch is loaded where it lies instead (a transaction each),
which needs no room and frees its own — so a spool that filled its disk empties itself, in
this run or the next. A failing round is logged once (with its traceback) and again only
when the failure changes; the round that works again says so.

The worker process watches the receiver (``_watch_parent``): when the receiver dies, however
(kill -9 too), the worker exits, and with it the forkserver and the resource tracker, which
only live while a process holds their pipes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import select
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from parallax.connectors.load import IngestOptions, ingest_files
from parallax.connectors.receive import spool
from parallax.connectors.receive.spool import STREAMS
from parallax.connectors.receive.writer import Stats
from parallax.db import connect, is_locked, waiting_marker
from parallax.errors import DatabaseError, FormatError, RejectRateError

__all__ = ["Handoff", "Job", "Round", "run_round"]

log = logging.getLogger("parallax.serve")
ROUND_BYTES = (1 << 20, 8 << 20)  # spool bytes loaded per round: least, most (≈ 25 k spans)
ROUND_S = 1.0  # rounds that hold the database longer load less next time, shorter ones more
YIELD_S = 1.0  # a command that touched <db>.waiting this recently goes first
PAUSE_FACTOR = 1  # pause after a round >= this x the time it held the database


@dataclass(frozen=True)
class Job:
    db_path: Path
    spool: Path
    opts: IngestOptions
    join: dict  # [join] settings for refresh_pages


@dataclass(frozen=True)
class Round:
    waited: bool = False  # the database was held or wanted: nothing done
    spans: int = 0
    answers: int = 0
    rejected: int = 0  # records the mapping rejected (stored in rejects)
    bytes: int = 0  # spool bytes handed off (or quarantined)
    held_s: float = 0.0
    refresh_s: float = 0.0
    remaining: bool = False  # batches are left for the next round
    errors: tuple[str, ...] = ()


def run_round(job: Job, budget: int = ROUND_BYTES[1]) -> Round:
    """One hand-off round (in the worker process), loading at most ``budget`` spool bytes."""
    pending = {s.name: spool.sealed(job.spool, s.name) for s in STREAMS}
    if not any(pending.values()):
        return Round()
    if _command_waiting(job.db_path):
        return Round(waited=True, remaining=True)
    t0 = time.monotonic()
    try:
        con = connect(job.db_path, wait=0)
    except DatabaseError as exc:
        if not is_locked(exc):
            raise
        return Round(waited=True, remaining=True)
    counts = {"spans": 0, "answers": 0, "rejected": 0, "bytes": 0}
    errors: list[str] = []
    try:
        con.execute("SET enable_progress_bar = false")  # a server has no terminal
        for stream in STREAMS:
            batches = _limited(pending[stream.name], budget)
            if not batches or (counts["bytes"] and _command_waiting(job.db_path)):
                continue
            budget -= _load(con, job, stream, batches, counts, errors)
        t1 = time.monotonic()
        if counts["spans"] or counts["answers"]:
            from parallax.exposure import JoinSettings, refresh_pages

            refresh_pages(con, JoinSettings.from_mapping(job.join))
        refresh_s = time.monotonic() - t1
    finally:
        con.close()
    remaining = any(spool.sealed(job.spool, s.name) for s in STREAMS)
    return Round(False, counts["spans"], counts["answers"], counts["rejected"], counts["bytes"],
                 time.monotonic() - t0, refresh_s, remaining, tuple(errors))


def _load(con, job: Job, stream: spool.Stream, batches: list[Path], counts: dict,
          errors: list[str]) -> int:
    """Load ``batches`` (one transaction); when the disk has no room to copy them into one
    file, each where it lies (a transaction each), which frees room as it goes."""
    if len(batches) == 1:
        return _load_file(con, job, stream, batches, batches[0], counts, errors)
    try:
        combined = spool.combine(job.spool, stream.name, batches)
    except OSError as exc:
        if not spool.no_space(exc):
            raise
        (job.spool / "handoff" / f"{stream.name}-{batches[0].stem}.jsonl").unlink(
            missing_ok=True)
        return sum(_load_file(con, job, stream, [b], b, counts, errors) for b in batches)
    return _load_file(con, job, stream, batches, combined, counts, errors)


def _load_file(con, job: Job, stream: spool.Stream, batches: list[Path], path: Path,
               counts: dict, errors: list[str]) -> int:
    """Load ``path`` (``batches`` combined, or the one batch itself), then forget them."""
    size = sum(p.stat().st_size for p in batches)
    label = f"receiver:{stream.name} {batches[0].stem}…{batches[-1].stem}"
    opts = replace(job.opts, options={**job.opts.options, **dict(stream.options)})
    try:
        [summary] = ingest_files(con, stream.kind, [path], opts, format=stream.format,
                                 labels={path: label})
    except (FormatError, RejectRateError) as exc:
        # Cannot happen for batches the receiver validated; keep them for a manual load.
        where = spool.quarantine(job.spool, batches, path)
        errors.append(f"{label}: refused by the loader ({exc}); batches kept in {where}")
        counts["bytes"] += size
        return size
    spool.done(batches, path)
    counts["bytes"] += size
    counts["spans" if stream.kind == "traces" else "answers"] += (
        summary.rows_read - summary.rejected)
    counts["rejected"] += summary.rejected
    return size


def _watch_parent(pid: int) -> None:
    """Worker initializer: exit as soon as process ``pid`` (the receiver) has ended.

    The worker is a child of the forkserver, not of the receiver, so the parent-death signal
    (``PR_SET_PDEATHSIG``) would not fire; a pidfd (Linux) becomes readable when ``pid``
    exits, whatever killed it. Elsewhere ``pid`` is polled."""

    def watch() -> None:
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            fd = None
        if fd is not None:
            select.select([fd], [], [])
        else:
            while _alive(pid):
                time.sleep(0.5)
        os._exit(0)  # like the kill -9 it mirrors: the spool and the database are crash-safe

    threading.Thread(target=watch, name="parallax-watch-receiver", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _command_waiting(db_path: Path) -> bool:
    try:
        return time.time() - waiting_marker(db_path).stat().st_mtime < YIELD_S
    except FileNotFoundError:
        return False


def _next_budget(budget: int, r: Round) -> int:
    low, high = ROUND_BYTES
    if r.bytes and r.held_s > ROUND_S:
        return max(low, budget // 2)
    if r.bytes >= budget // 2 and r.held_s < ROUND_S / 2:
        return min(high, budget * 2)
    return budget


def _limited(batches: list[Path], budget: int) -> list[Path]:
    out: list[Path] = []
    total = 0
    for p in batches:
        size = p.stat().st_size
        if out and total + size > budget:
            break
        out.append(p)
        total += size
    return out


class Handoff:
    """Schedules rounds from a thread; the rounds run in one worker process."""

    def __init__(self, job: Job, stats: Stats, every: float) -> None:
        self.job = replace(job, opts=replace(job.opts, source="receiver", max_reject_rate=1.0))
        self.stats, self.every = stats, every
        self._budget = ROUND_BYTES[1]
        ctx: multiprocessing.context.BaseContext
        if "forkserver" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("forkserver")
            # Workers fork from a server that has imported the loader once: a fast start.
            # pyarrow imports pandas at the first timestamp column (≈1-2 s): preload it too.
            ctx.set_forkserver_preload([__name__, "pandas"])
        else:
            ctx = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(1, mp_context=ctx, initializer=_watch_parent,
                                         initargs=(os.getpid(),))
        self._failure: str | None = None  # the failure last logged; None while rounds work
        self._failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="parallax-handoff", daemon=True)

    def start(self) -> None:
        self._pool.submit(int).result()  # start the worker now, not at the first batch
        self._thread.start()

    def stop(self, final_wait: float = 30.0) -> bool:
        """Stop the loop, then hand off what is left (waiting up to ``final_wait`` s for the
        database); True when the spool is empty."""
        self._stop.set()
        self._thread.join()
        deadline = time.monotonic() + final_wait
        try:
            while True:
                r = self.once()
                if not r.remaining:
                    return True
                if time.monotonic() >= deadline:
                    return False
                if r.waited:
                    time.sleep(0.2)
        finally:
            self._pool.shutdown()

    def once(self) -> Round:
        r = self._pool.submit(run_round, self.job, self._budget).result()
        self._budget = _next_budget(self._budget, r)
        st = self.stats
        st.spans_handed_off += r.spans
        st.feedback_handed_off += r.answers
        st.spooled(-r.bytes)
        if r.waited:
            st.handoff_waits += 1
        elif r.bytes:
            st.handoffs += 1
            st.handoff_s, st.refresh_s, st.last_handoff = r.held_s, r.refresh_s, time.time()
        if r.rejected:
            log.warning("%d record(s) rejected by the mapping (parallax loads --rejects)",
                        r.rejected)
        for e in r.errors:
            st.last_error = e
            log.error("%s", e)
        return r

    def _failed(self, exc: Exception) -> None:
        """Log a failing round once, and again only when the failure changes."""
        what = f"{type(exc).__name__}: {exc}"
        self.stats.last_error = f"hand-off failed: {what}"
        self._failures += 1
        if what != self._failure:
            self._failure = what
            log.error("hand-off failed; batches stay spooled and it is retried every %.1f s "
                      "(logged again only if the failure changes)", self.every,
                      exc_info=(type(exc), exc, exc.__traceback__))

    def _loop(self) -> None:
        pause = self.every
        while not self._stop.wait(pause):
            try:
                r = self.once()
            except Exception as exc:  # noqa: BLE001  (keep receiving; report it)
                self._failed(exc)
                r = Round()
            else:
                if self._failure is not None:
                    log.warning("hand-off works again (after %d failed round(s))",
                                self._failures)
                    self._failure, self._failures = None, 0
            pause = 0.25 if r.waited else 0.05 if r.remaining else self.every
            pause = max(pause, PAUSE_FACTOR * r.held_s)
