"""Back-pressure: a full write queue answers 429, a backed-up spool 503, both with
Retry-After; nothing acknowledged is lost."""

from __future__ import annotations

import threading

import httpx
import orjson

from tests.connectors.receive.conftest import query
from tests.connectors.receive.test_traces import _json_doc

JSON = {"Content-Type": "application/json"}


def test_full_queue_answers_429_and_acknowledged_spans_are_stored(serve, db_path):
    entered, release = threading.Event(), threading.Event()
    with serve(queue_spans=1) as (url, receiver):
        write = receiver.spool.write

        def stalled(stream, lines):  # the spool disk is slow: the writer is stuck here
            entered.set()
            release.wait(10)
            return write(stream, lines)

        receiver.spool.write = stalled
        first: list[httpx.Response] = []
        doc = orjson.dumps(_json_doc("a" * 32, ["b" * 16]))
        t = threading.Thread(target=lambda: first.append(
            httpx.post(f"{url}/v1/traces", content=doc, headers=JSON)))
        t.start()
        assert entered.wait(10)
        refused = httpx.post(f"{url}/v1/traces", content=orjson.dumps(
            _json_doc("c" * 32, ["d" * 16])), headers=JSON)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert "queue is full" in refused.json()["message"]
        release.set()
        t.join(10)
        assert first[0].status_code == 200
        assert receiver.stats.throttled == 1
    assert query(db_path, "SELECT span_id FROM spans") == [("b" * 16,)]


def test_backed_up_spool_answers_503(serve):
    with serve(max_spool_bytes=10) as (url, receiver):
        receiver.stats.spool_bytes = 11  # the database has been locked for long
        r = httpx.post(f"{url}/v1/feedback", json={"score": 9, "metric": "nps"})
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        receiver.stats.spool_bytes = 0
