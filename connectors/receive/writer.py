"""The one writer: a bounded queue of decoded requests, committed to the spool in batches.

Handlers ``submit`` their lines and await the returned future; it resolves once the batch
holding them is durable in the spool (``Spool.write``), which is when the request is
acknowledged. The writer takes what has queued for up to ``batch_ms`` or ``batch_spans``
spans and writes one file per stream. ``submit`` refuses (``None``) when the queued spans
would exceed ``queue_spans`` — the handler answers 429 — or when the spool backlog is above
``max_spool_bytes`` (the database has been locked for long), the spool's disk is full
(``DiskSpace``) or the writer is draining — 503.
A request larger than the whole queue is still taken when the queue is empty, so it cannot
be refused forever.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from parallax.connectors.receive.spool import DiskSpace, Spool, no_space

__all__ = ["Stats", "Writer"]


@dataclass
class Stats:
    """Counters for /healthz and the status line (mutated by the event loop and hand-off)."""

    spans_accepted: int = 0  # acknowledged (durable in the spool)
    spans_rejected: int = 0  # invalid spans, answered with partial success
    feedback_accepted: int = 0
    feedback_rejected: int = 0  # answers refused with 400
    throttled: int = 0  # requests answered 429 / 503 (queue or spool full)
    spans_handed_off: int = 0  # committed to the database
    feedback_handed_off: int = 0
    spool_bytes: int = 0
    handoffs: int = 0
    handoff_waits: int = 0  # hand-off attempts that found the database locked or wanted
    handoff_s: float = 0.0  # the last hand-off's duration (database held)
    refresh_s: float = 0.0  # of which the join-model refresh
    last_handoff: float | None = None
    last_error: str | None = None
    # Abuse and limits (docs/serve.md, "Under abuse")
    values_truncated: int = 0  # names and attribute values cut to the caps
    feedback_duplicates: int = 0  # answers whose feedback_id was already received
    busy: int = 0  # requests answered 503: bodies in flight above max_buffered_bytes
    body_timeouts: int = 0  # requests answered 408: body not in within body_timeout
    header_timeouts: int = 0  # connections closed: headers not in within header_timeout
    idle_closed: int = 0  # idle connections closed to make room at max_connections
    connections_refused: int = 0  # answered 503 at max_connections with none idle
    wrong_host: int = 0  # requests answered 421 (Host not allowed)
    disconnects: int = 0  # clients gone before their body was in
    disk_full: bool = False
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, name: str, n: int = 1) -> None:
        setattr(self, name, getattr(self, name) + n)

    def spooled(self, delta: int) -> None:
        """Adjust ``spool_bytes``: the writer adds, the hand-off thread subtracts."""
        with self._lock:
            self.spool_bytes += delta


@dataclass
class _Item:
    stream: str
    line: bytes
    spans: int
    done: asyncio.Future


class Writer:
    def __init__(self, spool: Spool, stats: Stats, *, queue_spans: int, batch_spans: int,
                 batch_ms: int, max_spool_bytes: int, disk: DiskSpace | None = None) -> None:
        self.spool, self.stats, self.disk = spool, stats, disk
        self.queue_spans, self.batch_spans = queue_spans, batch_spans
        self.batch_s, self.max_spool_bytes = batch_ms / 1000, max_spool_bytes
        self._items: deque[_Item] = deque()
        self._queued = 0
        self._wake = asyncio.Event()
        self._closing = False

    @property
    def queued_spans(self) -> int:
        return self._queued

    def refusal(self, spans: int) -> int | None:
        """429 / 503 if a request of ``spans`` spans cannot be queued now, else None."""
        if self._closing or self.stats.spool_bytes > self.max_spool_bytes:
            return 503
        if self.disk is not None:
            self.stats.disk_full = self.disk.check()
            if self.stats.disk_full:
                return 503
        if self._queued and self._queued + spans > self.queue_spans:
            return 429
        return None

    def submit(self, stream: str, line: bytes, spans: int) -> asyncio.Future:
        """Queue one request's line; the future resolves when it is durable."""
        done = asyncio.get_running_loop().create_future()
        self._items.append(_Item(stream, line, spans, done))
        self._queued += spans
        self._wake.set()
        return done

    async def run(self) -> None:
        """Commit batches until ``close``; then commit what is left and return."""
        while True:
            if not self._items:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            deadline = time.monotonic() + self.batch_s
            while self._queued < self.batch_spans and not self._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), left)
                except TimeoutError:
                    break
            await self._commit(self._take())

    def _take(self) -> list[_Item]:
        batch: list[_Item] = []
        spans = 0
        while self._items and (not batch or spans + self._items[0].spans <= self.batch_spans):
            item = self._items.popleft()
            batch.append(item)
            spans += item.spans
        return batch

    async def _commit(self, batch: list[_Item]) -> None:
        by_stream: dict[str, list[_Item]] = {}
        for item in batch:
            by_stream.setdefault(item.stream, []).append(item)
        for stream, items in by_stream.items():
            try:
                size = await asyncio.to_thread(self.spool.write, stream,
                                               [i.line for i in items])
            except OSError as exc:
                self.stats.last_error = f"spool write failed: {exc}"
                if self.disk is not None and no_space(exc):
                    self.disk.write_failed(exc, sum(len(i.line) + 1 for i in items))
                    self.stats.disk_full = self.disk.full
                for i in items:
                    if not i.done.done():
                        i.done.set_exception(exc)
            else:
                self.stats.spooled(size)
                for i in items:
                    if not i.done.done():
                        i.done.set_result(None)
            finally:
                self._queued -= sum(i.spans for i in items)

    async def close(self) -> None:
        """Refuse new requests (503) and let ``run`` commit the queue and return."""
        self._closing = True
        self._wake.set()
