"""The receiver under abuse: idle and trickling connections, slow bodies, many bodies at
once and floods of errors cannot pin its memory, its file descriptors or its log."""

from __future__ import annotations

import logging
import os
import resource
import socket
import subprocess
import time
from urllib.parse import urlsplit

import httpx
import orjson

from parallax.connectors.receive.guard import RepeatFilter
from tests.connectors.receive.test_process import CLI
from tests.connectors.receive.test_traces import _json_doc

JSON = {"Content-Type": "application/json"}


def _addr(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def _answer(sock: socket.socket, wait: float) -> bytes:
    """Everything the receiver sends until it closes the connection (or ``wait`` passes)."""
    sock.settimeout(wait)
    out = b""
    try:
        while chunk := sock.recv(65536):
            out += chunk
    except ConnectionResetError:
        pass
    return out


def _head(length: int, path: str = "/v1/traces") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def test_idle_and_trickling_connections_are_closed_and_healthz_gets_in(serve):
    with serve(max_connections=8, header_timeout=0.5) as (url, receiver):
        idle = [socket.create_connection(_addr(url)) for _ in range(30)]
        trickling = socket.create_connection(_addr(url))
        trickling.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never ends
        t0 = time.monotonic()
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        assert time.monotonic() - t0 < 3
        for s in [*idle, trickling]:  # closed: to make room, or for want of headers
            assert _answer(s, 5) == b""
            s.close()
        st = receiver.stats
        assert st.idle_closed + st.header_timeouts >= 31 and st.connections_refused == 0
        # A kept-alive connection between requests is idle too; one in use is not cut.
        with httpx.Client() as client:
            assert client.get(f"{url}/healthz").status_code == 200
            time.sleep(1.0)
            assert client.get(f"{url}/healthz").status_code == 200  # a new connection


def test_a_body_that_does_not_come_is_answered_408(serve):
    with serve(body_timeout=0.5) as (url, receiver):
        s = socket.create_connection(_addr(url))
        s.sendall(_head(1000) + b'{"resourceSpans": [')
        t0 = time.monotonic()
        answer = _answer(s, 10)
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b"connection: close" in answer.lower()
        assert time.monotonic() - t0 < 5
        assert receiver.stats.body_timeouts == 1 and receiver.budget.used == 0


def test_bodies_in_flight_beyond_the_byte_budget_are_answered_503(serve, db_path):
    with serve(max_body_bytes=64 << 10, max_buffered_bytes=100 << 10,
               body_timeout=3) as (url, receiver):
        first = socket.create_connection(_addr(url))
        first.sendall(_head(60_000) + b"{")  # holds 60 kB of the 100 kB budget
        time.sleep(0.2)
        second = socket.create_connection(_addr(url))
        second.sendall(_head(60_000) + b"{")
        answer = _answer(second, 5)  # at once: no waiting for the body
        assert answer.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in answer.lower()
        assert b"too many request bytes" in answer
        assert receiver.stats.busy == 1
        # The first one's body never comes: 408, and its share of the budget is free again.
        assert _answer(first, 10).startswith(b"HTTP/1.1 408 ")
        assert receiver.budget.used == 0
        r = httpx.post(f"{url}/v1/traces", headers=JSON,
                       content=orjson.dumps(_json_doc("a" * 32, ["b" * 16])))
        assert r.status_code == 200


def test_a_flood_of_connections_past_the_descriptor_limit(tmp_path):
    """With 1024 file descriptors, 1200 connections held open: /healthz still answers and the
    log stays short (it wrote a traceback per failed accept(), megabytes a second)."""
    db, config = tmp_path / "p.duckdb", tmp_path / "parallax.toml"
    config.write_text("[serve]\nheader_timeout = 2\n")

    def few_descriptors() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen([*CLI, "--db", str(db), "--config", str(config), "serve",
                             "--port", "0"], stderr=log, preexec_fn=few_descriptors,
                            env={**os.environ, "PARALLAX_TOKEN": "t"})
    try:
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            time.sleep(0.2)
            text = (tmp_path / "serve.log").read_text()
            if "receiving on " in text:
                url = text.split("receiving on ", 1)[1].split()[0]
        assert url, (tmp_path / "serve.log").read_text()
        flood = []
        for _ in range(1200):  # connecting at once: the kernel queues what is not accepted
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(_addr(url))
            flood.append(s)
        latencies = []
        for _ in range(3):
            t0 = time.monotonic()
            r = httpx.get(f"{url}/healthz", timeout=10)
            latencies.append(time.monotonic() - t0)
            assert r.status_code == 200 and r.json() == {"status": "ok"}  # no token: no counters
        assert min(latencies) < 2, latencies
        time.sleep(3)  # past the 2 s header timeout: the accepted idle connections are closed
        for s in flood:
            s.close()
        r = httpx.get(f"{url}/healthz", headers={"Authorization": "Bearer t"}, timeout=10)
        assert r.json()["idle_closed"] + r.json()["header_timeouts"] > 0
    finally:
        proc.kill()
        proc.wait(10)
    text = (tmp_path / "serve.log").read_text()
    assert "Too many open files" not in text
    assert len(text) < 20_000, text[-3000:]


def test_repeated_log_lines_are_rate_limited():
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("parallax.test-repeats")
    logger.propagate = False
    handler = Keep()
    logger.addHandler(handler)
    filt = RepeatFilter(burst=3, window=0.3)
    logger.addFilter(filt)
    try:
        for i in range(1000):
            logger.error("socket.accept() out of system resource %d", i)
        logger.error("something else")
        assert len(records) == 4 and filt.suppressed == 997
        time.sleep(0.35)
        logger.error("socket.accept() out of system resource %d", 1000)
        assert records[-1].endswith("[997 similar line(s) suppressed]")
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(filt)


def test_info_lines_are_not_rate_limited():
    filt = RepeatFilter(burst=1, window=60)
    record = logging.LogRecord("parallax.serve", logging.INFO, __file__, 1, "%d spans/s", (5,),
                               None)
    assert all(filt.filter(record) for _ in range(10))


def test_a_client_gone_mid_body_is_counted_not_logged(serve, caplog):
    with serve() as (url, receiver), caplog.at_level(logging.WARNING):
        s = socket.create_connection(_addr(url))
        s.sendall(_head(1000) + b'{"resourceSpans": [')
        time.sleep(0.3)
        s.close()
        deadline = time.monotonic() + 5
        while receiver.stats.disconnects == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.stats.disconnects == 1 and receiver.budget.used == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
