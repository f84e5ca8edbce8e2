"""What keeps the receiver up under abuse: connection and header limits, the byte budget,
the Host check and rate-limited logging.

* ``guarded_protocol`` is uvicorn's h11 protocol with two limits it lacks: a request's headers
  must arrive within ``header_timeout`` seconds of the connection opening or of the previous
  answer (uvicorn has no timer before the first request, and any byte resets its keep-alive
  timer), and at most ``max_connections`` connections are open — at the cap a new one closes
  the connection idle longest (waiting for headers; a request being received or answered is
  never cut), and when there is none it is answered 503 with ``Retry-After`` and closed. So
  idle or trickling sockets cannot pin file descriptors, and ``/healthz`` still gets in.
* ``ByteBudget``: the bytes of request bodies held at once, across all requests (as sent and
  once decompressed). A request that would take it past ``max_buffered_bytes`` is answered
  503 with ``Retry-After``; with ``body_timeout`` (app) it bounds what slow senders can pin.
* ``HostCheck`` (ASGI middleware): a ``Host`` header naming anything but an IP literal,
  ``localhost``, the ``--host`` name or an ``allowed_hosts`` name is answered 421, so a web page
  whose name was re-pointed at this machine (DNS rebinding) cannot reach the receiver.
* ``RepeatFilter``: at most ``burst`` warnings or errors per message template and logger per
  ``window`` seconds (uvicorn's and asyncio's errors too: ``accept()`` failing for want of file
  descriptors logs a traceback per attempt); the next line after a window says how many were
  suppressed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import resource
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["ACCEPT_BACKLOG", "ByteBudget", "ConnectionLimits", "HostCheck", "RepeatFilter",
           "Reservation", "connection_cap", "guarded_protocol", "quiet_repeats"]

log = logging.getLogger("parallax.serve")
_FD_HEADROOM = 64  # descriptors kept for the spool, the database, logs and the hand-off
# The listen backlog; asyncio also accepts up to this many connections at a time before any
# of them is seen (and closed if over the cap), so the cap leaves room for a batch.
ACCEPT_BACKLOG = 128
_ACCEPTING = 4  # batches accepted before the first one's surplus is closed


def connection_cap(wanted: int) -> int:
    """``wanted``, lowered to what the process's file-descriptor limit leaves room for
    beside the descriptors open now (call it before serving). The soft limit is first raised
    toward the hard one as far as ``wanted`` needs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        in_use = len(os.listdir("/proc/self/fd"))
    except OSError:
        in_use = 32
    reserve = in_use + _FD_HEADROOM + _ACCEPTING * ACCEPT_BACKLOG
    if soft != resource.RLIM_INFINITY and soft < wanted + reserve:
        raised = wanted + reserve if hard == resource.RLIM_INFINITY else min(
            hard, wanted + reserve)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
    if soft == resource.RLIM_INFINITY:
        return wanted
    room = max(8, soft - reserve)
    if wanted > room:
        log.warning("max_connections %d lowered to %d: the file-descriptor limit is %d "
                    "(ulimit -n)", wanted, room, soft)
    return min(wanted, room)


def _busy(retry_after: int) -> bytes:
    body = orjson.dumps({"code": 14, "message": "too many connections; retry later"})
    return (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
            b"retry-after: %d\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s"
            % (retry_after, len(body), body))


class ConnectionLimits:
    """Shared by every connection of one server: the cap, the timer and the idle order."""

    def __init__(self, max_connections: int, header_timeout: float, retry_after: int,
                 count: Callable[[str], None]) -> None:
        self.max_connections, self.header_timeout = max_connections, header_timeout
        self.busy = _busy(retry_after)
        self.count = count  # count("connections_refused" | "idle_closed" | "header_timeouts")
        self.waiting: OrderedDict[Any, float] = OrderedDict()  # protocols between requests

    def evict_idle(self) -> bool:
        """Close the connection that has waited longest for a request; False if none."""
        for proto in list(self.waiting):
            self.waiting.pop(proto, None)
            if proto.between_requests():
                proto.close_quietly()
                self.count("idle_closed")
                return True
        return False


def guarded_protocol(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with ``limits`` (pass as ``uvicorn.Config(http=...)``)."""

    class GuardedH11Protocol(H11Protocol):
        _refused = False
        _timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport) -> None:  # type: ignore[override]
            if len(self.connections) >= limits.max_connections and not limits.evict_idle():
                self._refused = True
                self.transport = transport
                limits.count("connections_refused")
                transport.write(limits.busy)
                transport.close()
                return
            super().connection_made(transport)
            self._await_headers()

        def data_received(self, data: bytes) -> None:
            if not self._refused:
                super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._refused:
                return
            self._stop_timer()
            limits.waiting.pop(self, None)
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._await_headers()

        def between_requests(self) -> bool:
            """No request is being received or answered (headers of the next are awaited)."""
            return not self.transport.is_closing() and (
                self.cycle is None or self.cycle.response_complete)

        def close_quietly(self) -> None:
            self._stop_timer()
            limits.waiting.pop(self, None)
            self.transport.close()

        def _await_headers(self) -> None:
            self._stop_timer()
            limits.waiting[self] = time.monotonic()
            limits.waiting.move_to_end(self)
            self._timer = self.loop.call_later(limits.header_timeout, self._headers_late)

        def _stop_timer(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _headers_late(self) -> None:
            self._timer = None
            limits.waiting.pop(self, None)
            if self.between_requests():
                limits.count("header_timeouts")
                self.transport.close()

    return GuardedH11Protocol


class ByteBudget:
    """Bytes of request bodies held across all requests (thread-safe: decoding threads
    take decompressed bytes too)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self._lock:
            if self.used + n > self.limit:
                return False
            self.used += n
            return True

    def give(self, n: int) -> None:
        with self._lock:
            self.used -= n


class Reservation:
    """One request's share of a ``ByteBudget``; ``release`` when the request is answered."""

    def __init__(self, budget: ByteBudget) -> None:
        self.budget, self.held = budget, 0

    def take(self, n: int) -> bool:
        if n <= 0:
            return True
        if not self.budget.take(n):
            return False
        self.held += n
        return True

    def release(self) -> None:
        self.budget.give(self.held)
        self.held = 0


class HostCheck:
    """ASGI middleware: 421 for a Host header this receiver does not answer to."""

    def __init__(self, app, bound_host: str, allowed: Iterable[str],
                 count: Callable[[str], None]) -> None:
        self.app, self.count = app, count
        allowed = tuple(allowed)
        self.any = "*" in allowed
        names = {"localhost", *(a for a in allowed if a != "*")}
        if not _is_ip(bound_host) and bound_host:
            names.add(bound_host.lower().rstrip("."))
        self.names = frozenset(names)

    def allowed(self, host: str) -> bool:
        host = host.strip().lower()
        if host.startswith("["):  # [::1]:4318
            return _is_ip(host[1:host.find("]")] if "]" in host else host[1:])
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        name = name.rstrip(".")
        return _is_ip(name) or name in self.names or any(
            n.startswith("*.") and name.endswith(n[1:]) for n in self.names)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not self.any:
            host = next((v for k, v in scope["headers"] if k == b"host"), None)
            if host is not None and not self.allowed(host.decode("latin-1")):
                self.count("wrong_host")
                body = orjson.dumps({"code": 3, "message": "this receiver does not answer to "
                                     "that Host (add it to [serve] allowed_hosts or "
                                     "--allow-host)"})
                await send({"type": "http.response.start", "status": 421, "headers": [
                    (b"content-type", b"application/json"), (b"connection", b"close"),
                    (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class RepeatFilter(logging.Filter):
    """Let through ``burst`` warnings and errors per (logger, level, message template) per
    ``window`` s."""

    def __init__(self, burst: int = 5, window: float = 60.0) -> None:
        super().__init__("parallax-repeats")
        self.burst, self.window = burst, window
        self._seen: dict[tuple, list] = {}  # key -> [window start, passed, suppressed]
        self._lock = threading.Lock()
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:  # the periodic status line, start and stop
            return True
        first_line = str(record.msg).split("\n", 1)[0][:200]
        key = (record.name, record.levelno, first_line)
        now = time.monotonic()
        with self._lock:
            entry = self._seen.get(key)
            if entry is None or now - entry[0] >= self.window:
                if len(self._seen) > 1000:  # many distinct messages: forget the old windows
                    self._seen = {k: v for k, v in self._seen.items()
                                  if now - v[0] < self.window}
                dropped = entry[2] if entry else 0
                self._seen[key] = [now, 1, 0]
                if dropped:
                    record.msg = f"{record.msg} [{dropped} similar line(s) suppressed]"
                return True
            if entry[1] < self.burst:
                entry[1] += 1
                return True
            entry[2] += 1
            self.suppressed += 1
            return False


_QUIETED = ("parallax.serve", "uvicorn", "uvicorn.error", "asyncio")


@contextlib.contextmanager
def quiet_repeats(burst: int = 5, window: float = 60.0) -> Iterator[RepeatFilter]:
    """A fresh ``RepeatFilter`` on the loggers a receiver under abuse writes to, for as long
    as it serves (install it after ``uvicorn.Config`` configured uvicorn's loggers)."""
    filt = RepeatFilter(burst, window)
    loggers = [logging.getLogger(name) for name in _QUIETED]
    for logger in loggers:
        logger.addFilter(filt)
    try:
        yield filt
    finally:
        for logger in loggers:
            logger.removeFilter(filt)
