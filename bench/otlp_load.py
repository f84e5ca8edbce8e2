"""Receiver load benchmark (not a test): several processes export spans with the real
OpenTelemetry SDK (BatchSpanProcessor + OTLP/HTTP protobuf exporter) to a ``parallax serve``
process for a while; then the receiver is stopped with SIGTERM (it drains) and the database
is counted.

    uv run python bench/otlp_load.py                       # 4 senders x 1,500 spans/s, 60 s
    uv run python bench/otlp_load.py --rate 500 --seconds 10
    uv run python bench/otlp_load.py --seconds 20 --queue-spans 1024   # with 429s

Reports accepted spans (exports answered 200), rejected (429/503 answers, each retried by the
exporter; exports that failed for good), stored (rows in ``spans`` after shutdown: must equal
accepted), p50/p99 acknowledgement latency (request sent → 200), the receiver's peak RSS, and
how long ``parallax sql`` took to get the database while the receiver was handing off.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
CLI = [sys.executable, "-c", "from parallax.cli import main; main()"]


def _sender(url: str, rate: int, seconds: float, seed: int, out: mp.Queue) -> None:
    import requests
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
    from opentelemetry.trace import SpanKind

    statuses: dict[int, int] = {}
    latencies: list[float] = []
    result = {"accepted": 0, "failed": 0}

    def on_response(r, *args, **kwargs):
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        if r.status_code == 200:
            latencies.append(r.elapsed.total_seconds() * 1000)

    class Counting(OTLPSpanExporter):
        def export(self, spans):
            res = super().export(spans)
            result["accepted" if res == SpanExportResult.SUCCESS else "failed"] += len(spans)
            return res

    session = requests.Session()
    session.hooks["response"].append(on_response)
    exporter = Counting(endpoint=f"{url}/v1/traces", timeout=30, session=session)
    provider = TracerProvider(resource=Resource.create({"service.name": f"shop-{seed}"}))
    provider.add_span_processor(BatchSpanProcessor(
        exporter, max_queue_size=50_000, max_export_batch_size=512, schedule_delay_millis=200))
    tracer = provider.get_tracer("bench")
    rnd = random.Random(seed)
    created, tick = 0, 0.1
    t0 = time.perf_counter()
    while (now := time.perf_counter() - t0) < seconds:
        due = int(rate * (now + tick)) - created
        while due > 0:  # traces of 10 spans: one SERVER span and 9 CLIENT calls
            session = f"s{seed}-{rnd.randrange(10_000)}"
            with tracer.start_as_current_span("GET /product/{id}", kind=SpanKind.SERVER,
                                              attributes={"http.route": "/product/{id}",
                                                          "http.response.status_code": 200,
                                                          "session.id": session,
                                                          "enduser.id": f"u{rnd.randrange(999)}",
                                                          "client.address": "10.0.0.1"}):
                for i in range(9):
                    with tracer.start_as_current_span(f"call {i}", kind=SpanKind.CLIENT,
                                                      attributes={"peer.service": f"dep{i}",
                                                                  "session.id": session}):
                        pass
            created += 10
            due -= 10
        time.sleep(max(0.0, t0 + now + tick - time.perf_counter()))
    provider.force_flush(60_000)
    provider.shutdown()
    out.put({"created": created, **result, "statuses": statuses, "latencies": latencies})


def _result(out: mp.Queue, senders: list) -> dict:
    while True:
        try:
            return out.get(timeout=5)
        except queue.Empty:
            if any(s.exitcode not in (None, 0) for s in senders):
                raise SystemExit("a sender failed") from None


def _start(db: Path, config: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([*CLI, "--db", str(db), "--config", str(config), "serve",
                             "--port", "0"], stderr=subprocess.PIPE, text=True)
    while True:
        line = proc.stderr.readline()
        if "receiving on " in line:
            threading.Thread(target=_echo, args=(proc,), daemon=True).start()
            return proc, line.split("receiving on ", 1)[1].split()[0]
        if not line:
            raise SystemExit("parallax serve did not start")


def _echo(proc: subprocess.Popen) -> None:
    for line in proc.stderr:
        print("  serve |", line.rstrip(), file=sys.stderr)


def _analysis(db: Path, stop: threading.Event, waits: list[float]) -> None:
    while not stop.wait(5):
        _analysis_once(db, waits)


def _lock_waits(db: Path, stop: threading.Event, waits: list[float]) -> None:
    """How long opening the database waits for the receiver's hand-off (no process start)."""
    from parallax.db import connect

    while not stop.wait(1.3):
        t = time.perf_counter()
        connect(db, read_only=True).close()
        waits.append(time.perf_counter() - t)


def _analysis_once(db: Path, waits: list[float]) -> None:
    t = time.perf_counter()
    r = subprocess.run([*CLI, "--db", str(db), "sql", "SELECT count(*) FROM spans",
                        "--format", "json"], capture_output=True, text=True)
    waits.append(time.perf_counter() - t if r.returncode == 0 else float("nan"))


def _pct(values: list[float], q: float) -> float | None:
    v = sorted(values)
    return round(v[int(q * (len(v) - 1))], 2) if v else None


def main() -> None:
    from peak_rss import PeakRss

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--senders", type=int, default=4)
    ap.add_argument("--rate", type=int, default=1500, help="spans/s per sender")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--queue-spans", type=int, default=None,
                    help="[serve] queue_spans: small values show 429 back-pressure")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, config = Path(tmp) / "load.duckdb", Path(tmp) / "parallax.toml"
        queue_line = f"queue_spans = {args.queue_spans}\n" if args.queue_spans else ""
        config.write_text(f"[serve]\nlog_seconds = 10\n{queue_line}")
        from parallax.db import connect

        connect(db).close()
        idle: list[float] = []
        _analysis_once(db, idle)  # the same command with no receiver running: the baseline
        proc, url = _start(db, config)
        out: mp.Queue = mp.get_context("spawn").Queue()
        ctx = mp.get_context("spawn")
        senders = [ctx.Process(target=_sender, args=(url, args.rate, args.seconds, i, out))
                   for i in range(args.senders)]
        stop, waits = threading.Event(), []
        sampler = threading.Thread(target=_analysis, args=(db, stop, waits), daemon=True)
        lock_waits: list[float] = []
        locker = threading.Thread(target=_lock_waits, args=(db, stop, lock_waits), daemon=True)
        with PeakRss(proc.pid) as rss:
            t0 = time.perf_counter()
            for s in senders:
                s.start()
            sampler.start()
            locker.start()
            results = [_result(out, senders) for _ in senders]
            sending = time.perf_counter() - t0
            stop.set()
            for s in senders:
                s.join()
            t1 = time.perf_counter()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait()
            drain = time.perf_counter() - t1
        con = connect(db)
        stored = con.execute("SELECT count(*) FROM spans").fetchall()[0][0]
        con.close()
    lat = sorted(x for r in results for x in r["latencies"])
    statuses: dict[str, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[str(k)] = statuses.get(str(k), 0) + v
    accepted = sum(r["accepted"] for r in results)
    report = {
        "senders": args.senders, "seconds": round(sending, 1),
        "created": sum(r["created"] for r in results),
        "accepted": accepted, "accepted_per_s": round(accepted / sending),
        "failed_for_good": sum(r["failed"] for r in results),
        "responses": statuses, "stored": stored, "lost": accepted - stored,
        "ack_ms_p50": round(statistics.median(lat), 1) if lat else None,
        "ack_ms_p99": round(lat[int(0.99 * (len(lat) - 1))], 1) if lat else None,
        "receiver_peak_rss_mib": round(rss.mib), "receiver_exit": code,
        "shutdown_drain_s": round(drain, 2),
        "open_db_wait_s": {"n": len(lock_waits), "p50": _pct(lock_waits, 0.5),
                           "p99": _pct(lock_waits, 0.99), "max": _pct(lock_waits, 1.0)},
        "analysis_sql_s_idle": round(idle[0], 2),
        "analysis_sql_s_while_receiving": [round(w, 2) for w in waits],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
