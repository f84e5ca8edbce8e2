"""Decoding happens off the event loop: ``/healthz`` answers promptly while large export
requests are being decoded (it waited for each whole decode when that ran on the loop)."""

from __future__ import annotations

import statistics
import threading
import time

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from parallax.connectors.receive import Receiver, running

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def big_request(spans: int, seed: int = 0) -> bytes:
    """An export of ``spans`` spans with five attributes each (about 200 bytes a span)."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "shop"
    ss = rs.scope_spans.add()
    ss.scope.name = "bench"
    for i in range(spans):
        s = ss.spans.add()
        s.trace_id = (seed << 64 | i + 1).to_bytes(16, "big")
        s.span_id = (i + 1).to_bytes(8, "big")
        s.name, s.kind = "GET /product/{id}", 2
        s.start_time_unix_nano = 1_764_000_000_000_000_000 + i
        s.end_time_unix_nano = s.start_time_unix_nano + 5_000_000
        for k in range(5):
            a = s.attributes.add()
            a.key, a.value.string_value = f"attr.{k}", f"value-{i}-{k}"
    return req.SerializeToString()


def test_healthz_answers_while_large_bodies_are_decoded(settings, opts):
    bodies = [big_request(15_000, seed) for seed in (1, 2)]
    receiver = Receiver(settings, opts, final_wait=0)
    # What is decoded matters here, not storing it: no hand-off (the batches stay spooled).
    receiver.handoff.start = lambda: None
    receiver.handoff.stop = lambda final_wait: True
    with running(receiver) as url:
        answers: list[int] = []
        lock = threading.Lock()

        def send(body: bytes) -> None:
            for _ in range(2):
                r = httpx.post(f"{url}/v1/traces", content=body, headers=PROTOBUF, timeout=60)
                with lock:
                    answers.append(r.status_code)

        senders = [threading.Thread(target=send, args=(b,)) for b in bodies]
        for t in senders:
            t.start()
        time.sleep(0.3)  # the first bodies are in and being decoded
        latencies = []
        with httpx.Client(timeout=30) as client:
            while any(t.is_alive() for t in senders):
                t0 = time.perf_counter()
                assert client.get(f"{url}/healthz").status_code == 200
                latencies.append(time.perf_counter() - t0)
                time.sleep(0.05)
        for t in senders:
            t.join()
        assert answers == [200] * 4
        assert receiver.stats.spans_accepted == 60_000
    assert len(latencies) >= 5, latencies
    # On the loop, each request waited for the decode in progress (about a second apiece).
    assert statistics.median(latencies) < 0.3, sorted(latencies)
