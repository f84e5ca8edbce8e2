"""Start-up cost of the CLI (issue 15): importing ``parallax.cli`` and running a read command
must not import the heavy libraries (numpy, pandas, pyarrow, polars, statsmodels, scipy,
altair, …); they belong to the commands that compute, ingest or plot. Each check runs in a
fresh interpreter, since the test process has imported them all long ago.
``bench/start_time.py`` measures the seconds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

HEAVY = ("numpy", "pandas", "pyarrow", "polars", "statsmodels", "scipy", "altair", "vl_convert",
         "httpx", "opentelemetry", "google.protobuf", "jinja2", "starlette", "uvicorn")

# Runs the CLI like the entry point, then reports on stderr which heavy modules got loaded.
_PROBE = f"""
import sys
from parallax.cli import run
code = run(sys.argv[1:])
sys.stdout.flush()
loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)
sys.stderr.write("\\nLOADED " + ",".join(loaded) + "\\n")
sys.exit(code)
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PARALLAX_DB", "PARALLAX_CONFIG")}
    env["PARALLAX_KEY"] = "cli-test-key-0123456789abcdef"
    env["COLUMNS"] = "200"
    return env


def _probe(args: list[str], cwd: Path) -> tuple[list[str], str]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    marker = proc.stderr.rsplit("LOADED ", 1)[1].strip()
    return [m for m in marker.split(",") if m], proc.stdout


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    """A folder holding ``parallax.duckdb``: the demo world at 300 sessions, ingested (contacts
    and annotations too) and correlated once, by ``parallax demo`` in its own process."""
    root = tmp_path_factory.mktemp("cli-start")
    proc = subprocess.run([sys.executable, "-c", _PROBE, "demo", "--sessions", "300"], cwd=root,
                          env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return root


def test_importing_the_cli_loads_no_heavy_module(tmp_path) -> None:
    code = (f"import parallax.cli, sys; "
            f"print(','.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_the_fits_modules_leave_the_lp_solver_to_the_background() -> None:
    """correlate waits for its statistics modules before the first fit; scipy.optimize (the
    separation LP's solver, scipy's slowest import) is imported after them, in the
    background, so it must not come with them."""
    code = ("import sys, parallax.correlate.conclude, parallax.correlate.who_answered; "
            "print('scipy.special' in sys.modules, 'scipy.optimize' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "False"]


def test_correlate_reads_its_frames_without_arrow_or_polars(small_db, tmp_path) -> None:
    """correlate's statistics read DuckDB's numpy columns: neither pyarrow nor polars loads;
    a missing database is refused before the statistics' background import starts."""
    import shutil

    for name in ("parallax.duckdb", "parallax.duckdb.key"):  # a copy: correlate writes
        if (small_db / name).exists():
            shutil.copy(small_db / name, tmp_path / name)
    loaded, out = _probe(["correlate"], tmp_path)
    assert "correlate run" in out
    assert "numpy" in loaded and "scipy" in loaded
    assert "pyarrow" not in loaded and "polars" not in loaded
    proc = subprocess.run([sys.executable, "-c", _PROBE, "--db", str(tmp_path / "missing.duckdb"),
                           "correlate"], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "no such database" in proc.stderr
    assert proc.stderr.rsplit("LOADED ", 1)[1].strip() == ""


def test_findings_json_reads_without_the_statistics_stack(small_db) -> None:
    loaded, out = _probe(["findings", "--format", "json"], small_db)
    assert "/checkout" in {d["subject"] for d in orjson.loads(out)}
    assert loaded == []  # statsmodels, scipy, pandas, pyarrow, numpy, polars: none


@pytest.mark.parametrize("args", [
    ["findings"],
    ["overview"],
    ["loads"],
    ["sources"],
    ["routes"],
    ["query", "--list"],
    ["query", "worst_routes"],
    ["query", "route_templates", "--format", "json"],  # a HUGEINT column
    ["sql", "SELECT 42::HUGEINT AS n, uuid() AS id"],
    ["drill", "route", "/checkout"],
    ["contacts", "drivers"],
    ["contacts", "metrics"],
    ["annotate", "list"],
    ["--help"],
], ids=" ".join)
def test_read_commands_load_no_heavy_module(small_db, args) -> None:
    loaded, _ = _probe(args, small_db)
    assert loaded == []


def test_file_ingest_loads_no_network_stack(tmp_path) -> None:
    """Every ingest loads every file format, the API vendors' mappings among them: reaching
    those must not import httpx (or anything else of `pull`'s fetch loop)."""
    sample = tmp_path / "answers.csv"  # the generic feedback CSV (ours, not a vendor's)
    sample.write_text("response_id,submitted_at,nps,session_id\n"
                      "r1,2026-01-01T10:00:00Z,9,s1\nr2,2026-01-01T11:00:00Z,3,s2\n")
    loaded, out = _probe(["--db", str(tmp_path / "p.duckdb"), "ingest", "feedback",
                          str(sample)], tmp_path)
    assert "feedback-csv" in out
    assert "httpx" not in loaded


def test_a_native_trace_load_imports_no_pandas(tmp_path) -> None:
    """pyarrow imports pandas the first time it converts a Python value (pa.array, pa.scalar,
    Array.to_numpy); the native OTLP stage and route learning build their arrays from buffers
    (connectors/arrays.py), so `ingest traces` is spared the import."""
    vendor = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"
    doc = orjson.loads((vendor / "otlp_proto_examples_trace.json").read_bytes())
    (tmp_path / "spans.jsonl").write_bytes(orjson.dumps(doc) + b"\n")
    loaded, out = _probe(["--db", str(tmp_path / "t.duckdb"), "ingest", "traces",
                          "spans.jsonl"], tmp_path)
    loaded_rows = re.search(r"([\d,]+) rows loaded from 1 file", out)
    assert loaded_rows and int(loaded_rows.group(1).replace(",", "")) > 0, out
    assert "pyarrow" in loaded and "pandas" not in loaded


def test_feedback_analytics_and_contact_loads_import_no_pandas(tmp_path) -> None:
    """The feedback rows (a reject among them: the rejects table is built too), the native
    GA4 stage and the contact rows build their Arrow columns without pa.array, so none of these
    loads imports pandas."""
    sample = tmp_path / "answers.csv"
    sample.write_text("response_id,submitted_at,nps,session_id\n"
                      "r1,2026-01-01T10:00:00Z,9,s1\nr2,2026-01-01T11:00:00Z,3,s2\n"
                      "r3,not a time,5,s3\n")
    db = str(tmp_path / "p.duckdb")
    loaded, out = _probe(["--db", db, "ingest", "feedback", "--max-reject-rate", "0.5",
                          str(sample)], tmp_path)
    assert re.search(r"\b2 rows loaded from 1 file.*1 rejected", out), out
    assert "pyarrow" in loaded and "pandas" not in loaded
    ga4 = Path(__file__).resolve().parents[1] / "fixtures" / "synthetic" / "ga4_events.ndjson"
    loaded, out = _probe(["--db", db, "ingest", "analytics", str(ga4)], tmp_path)
    assert "ga4-ndjson" in out and re.search(r"[1-9][\d,]* rows loaded from 1 file", out), out
    assert "pyarrow" in loaded and "pandas" not in loaded
    ctr = ga4.with_name("amazon_connect_ctr.jsonl")
    loaded, out = _probe(["--db", db, "ingest", "interactions", str(ctr)], tmp_path)
    assert "amazon-connect-ctr" in out and re.search(r"[1-9][\d,]* rows loaded from 1 file",
                                                     out), out
    assert "pyarrow" in loaded and "pandas" not in loaded
