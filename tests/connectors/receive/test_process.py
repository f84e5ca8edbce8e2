"""``parallax serve`` as its own process: analysis commands work while it runs, SIGTERM
drains it, and a restart hands off what an earlier run left spooled."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from parallax.connectors.receive.spool import Spool
from parallax.errors import ConfigError
from tests.connectors.receive.conftest import query
from tests.connectors.receive.test_traces import _json_doc, _spans

CLI = [sys.executable, "-c", "from parallax.cli import main; main()"]


def _parallax(db: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "--db", str(db), *args], capture_output=True, text=True,
                          timeout=60, **kw)


def _start(db: Path, config: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([*CLI, "--db", str(db), "--config", str(config), "serve",
                             "--port", "0"], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PARALLAX_TOKEN": "t0k3n"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if "receiving on " in line:
            return proc, line.split("receiving on ", 1)[1].split()[0]
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("parallax serve did not start")


def test_analysis_runs_beside_serve_and_sigterm_drains(tmp_path):
    db, config = tmp_path / "p.duckdb", tmp_path / "parallax.toml"
    config.write_text("[serve]\nhandoff_seconds = 0.3\nbatch_ms = 20\n")
    proc, url = _start(db, config)
    try:
        auth = {"Authorization": "Bearer t0k3n"}
        exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", headers=auth)
        assert exporter.export(_spans(20)) == SpanExportResult.SUCCESS
        counts = []
        for _ in range(20):  # each command waits for the receiver's hand-off lock
            out = _parallax(db, "sql", "SELECT count(*) AS n FROM spans", "--format", "json")
            assert out.returncode == 0, out.stderr
            counts.append(orjson.loads(out.stdout)[0]["n"])
            if counts[-1] == 20:
                break
        assert counts[-1] == 20
        # Acknowledged just before SIGTERM: still stored.
        assert exporter.export(_spans(30)) == SpanExportResult.SUCCESS
        r = httpx.post(f"{url}/v1/feedback", json={"score": 2, "metric": "csat"}, headers=auth)
        assert r.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert query(db, "SELECT count(*) FROM spans") == [(50,)]
    assert query(db, "SELECT count(*) FROM feedback") == [(1,)]
    assert list((Path(f"{db}.spool") / "traces").iterdir()) == []


def test_restart_hands_off_what_was_spooled(serve, settings, db_path):
    spool = Spool(settings.spool)
    spool.write("traces", [orjson.dumps(_json_doc("e" * 32, ["f" * 16]))])
    with pytest.raises(ConfigError, match="another parallax serve"):
        Spool(settings.spool)
    spool.close()
    with serve():
        pass
    assert query(db_path, "SELECT trace_id, span_id FROM spans") == [("e" * 32, "f" * 16)]


def test_children_exit_when_serve_is_killed(tmp_path):
    """kill -9 leaves no hand-off worker, forkserver or resource tracker behind (they lived
    on: the worker waited on a pipe it held both ends of, and kept the others alive)."""
    import psutil

    db, config = tmp_path / "p.duckdb", tmp_path / "parallax.toml"
    config.write_text("[serve]\nhandoff_seconds = 0.3\n")
    proc, url = _start(db, config)
    children: list[psutil.Process] = []
    try:
        # A loaded machine (CI shares 2 cores) can take over httpx's 5 s default to answer.
        assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 3  # the resource tracker, the forkserver, the worker
        proc.kill()
        proc.wait(10)
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        proc.kill()
        for p in children:
            with contextlib.suppress(psutil.Error):
                p.kill()
