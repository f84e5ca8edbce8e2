"""Running the receiver: uvicorn around the app, the writer and the hand-off thread.

Start-up recovers what a previous run spooled but did not hand off. Shutdown (SIGTERM,
Ctrl-C) is uvicorn's graceful one: it stops accepting, lets in-flight requests finish —
each waits for its batch to be durable — and then the lifespan closes the writer (commits
the queue) and hands the whole spool to the database, waiting for the lock if an analysis
command holds it. What still cannot be handed off stays spooled for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvicorn

from parallax.connectors.load import IngestOptions
from parallax.connectors.receive.app import build_app
from parallax.connectors.receive.feedback import FeedbackIds, stored_feedback_ids
from parallax.connectors.receive.guard import (
    ACCEPT_BACKLOG,
    ByteBudget,
    ConnectionLimits,
    connection_cap,
    guarded_protocol,
    quiet_repeats,
)
from parallax.connectors.receive.handoff import Handoff, Job
from parallax.connectors.receive.settings import ServeSettings
from parallax.connectors.receive.spool import DiskSpace, Spool
from parallax.connectors.receive.writer import Stats, Writer
from parallax.errors import ConfigError

__all__ = ["Receiver", "bind", "running", "serve_forever", "url_of"]

log = logging.getLogger("parallax.serve")


class Receiver:
    """One receiver: its spool, counters, writer, hand-off and ASGI app."""

    def __init__(self, settings: ServeSettings, opts: IngestOptions,
                 join: Mapping[str, Any] | None = None, *, final_wait: float = 30.0) -> None:
        """``join``: the ``[join]`` settings the join-model refresh after a hand-off uses."""
        self.settings, self.final_wait = settings, final_wait
        self.spool = Spool(settings.spool)
        self.disk = DiskSpace(settings.spool, settings.min_free_bytes)
        self.stats = Stats()
        self.stats.spool_bytes = self.spool.size()[1]
        self.feedback_ids = FeedbackIds()
        self.feedback_ids.seed(stored_feedback_ids(settings.db_path, settings.spool,
                                                   self.feedback_ids.limit))
        job = Job(settings.db_path, settings.spool, opts, dict(join or {}))
        self.handoff = Handoff(job, self.stats, settings.handoff_seconds)
        self.writer: Writer | None = None
        self.budget = ByteBudget(settings.max_buffered_bytes)
        # Decompressing and decoding bodies off the event loop; two threads: the byte budget
        # bounds what waits for them, and the spool writer keeps asyncio's own pool.
        self.decoder = ThreadPoolExecutor(2, thread_name_prefix="parallax-decode")
        self.limits = ConnectionLimits(connection_cap(settings.max_connections),
                                       settings.header_timeout, settings.retry_after,
                                       self.stats.count)
        self.app = build_app(settings, self._writer, self.stats, self._lifespan,
                             decoder=self.decoder, feedback_ids=self.feedback_ids,
                             budget=self.budget)

    def _writer(self) -> Writer:
        assert self.writer is not None  # requests come after the lifespan started it
        return self.writer

    @contextlib.asynccontextmanager
    async def _lifespan(self, app) -> AsyncIterator[None]:
        s = self.settings
        self.writer = Writer(self.spool, self.stats, queue_spans=s.queue_spans,
                             batch_spans=s.batch_spans, batch_ms=s.batch_ms,
                             max_spool_bytes=s.max_spool_bytes, disk=self.disk)
        writing = asyncio.create_task(self.writer.run())
        status = asyncio.create_task(self._status_lines())
        await asyncio.to_thread(self.handoff.start)
        try:
            yield
        finally:
            await self.writer.close()
            await writing
            status.cancel()
            self.decoder.shutdown(wait=False)
            empty = await asyncio.to_thread(self.handoff.stop, self.final_wait)
            self.spool.close()
            self._status_line(time.monotonic() - self.stats.started, self.stats.spans_accepted)
            if not empty:
                log.warning("database still locked: batches stay in %s for the next start",
                            self.spool.root)

    async def _status_lines(self) -> None:
        last_t, last_n = time.monotonic(), 0
        while True:
            await asyncio.sleep(self.settings.log_seconds)
            now = time.monotonic()
            self._status_line(now - last_t, self.stats.spans_accepted - last_n)
            last_t, last_n = now, self.stats.spans_accepted

    def _status_line(self, seconds: float, spans: int) -> None:
        st, queued = self.stats, self.writer.queued_spans if self.writer else 0
        log.info("%.0f spans/s · queue %d spans · rejected %d spans, %d answers · throttled %d"
                 " · stored %d spans, %d answers · spool %.1f MB · last hand-off %.2f s (join"
                 " model %.2f s) · hand-off waits %d%s",
                 spans / seconds if seconds > 0 else 0.0, queued, st.spans_rejected,
                 st.feedback_rejected, st.throttled, st.spans_handed_off,
                 st.feedback_handed_off, st.spool_bytes / 1e6, st.handoff_s, st.refresh_s,
                 st.handoff_waits, self._abuse_counts())

    def _abuse_counts(self) -> str:
        """The limits that were hit so far, when any was (`` · busy 3 · …``)."""
        st = self.stats
        counts = {"values cut": st.values_truncated, "duplicate answers":
                  st.feedback_duplicates, "busy": st.busy, "body timeouts": st.body_timeouts,
                  "header timeouts": st.header_timeouts, "idle closed": st.idle_closed,
                  "connections refused": st.connections_refused, "wrong host": st.wrong_host}
        shown = "".join(f" · {k} {v}" for k, v in counts.items() if v)
        return shown + (" · SPOOL DISK FULL" if st.disk_full else "")


def bind(host: str, port: int) -> socket.socket:
    """The listening socket (so port 0 works and the real port is known before serving)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family = infos[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(infos[0][4])
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(ACCEPT_BACKLOG)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM / SIGINT after its graceful shutdown, so the process would
    end killed by the signal (or with a KeyboardInterrupt traceback) although everything was
    drained; ``parallax serve`` ends with exit code 0 instead."""

    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def server(receiver: Receiver) -> uvicorn.Server:
    config = uvicorn.Config(receiver.app, access_log=False, lifespan="on",
                            log_level="info", timeout_graceful_shutdown=30,
                            http=guarded_protocol(receiver.limits),
                            h11_max_incomplete_event_size=16 << 10, backlog=ACCEPT_BACKLOG)
    return _Server(config)


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


@contextlib.contextmanager
def running(receiver: Receiver, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve in a background thread (tests, benchmarks); yields the base URL."""
    sock = bind(host, port)
    srv = server(receiver)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    with quiet_repeats():
        thread.start()
        try:
            # The app's startup opens the database: on a machine busy with other work it
            # took more than 10 s once (a suite run beside two JVMs)
            deadline = time.monotonic() + 60
            while not srv.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("receiver did not start")
                time.sleep(0.01)
            yield url_of(sock)
        finally:
            srv.should_exit = True
            thread.join(60)
            sock.close()


def serve_forever(receiver: Receiver, host: str, port: int) -> None:
    """Serve until SIGTERM / Ctrl-C (the command's entry point)."""
    sock = bind(host, port)
    if not receiver.settings.token and not receiver.settings.loopback:
        log.warning("listening on %s without a token (--insecure-no-token): anyone who can "
                     "reach it can write", host)
    log.info("receiving on %s (POST /v1/traces, POST /v1/feedback, GET /healthz); "
             "database %s; spool %s", url_of(sock), receiver.settings.db_path,
             receiver.settings.spool)
    try:
        srv = server(receiver)
        with quiet_repeats():
            srv.run(sockets=[sock])
    finally:
        sock.close()
    log.info("stopped")
