"""The wheel installs in a clean venv with everything under one `parallax` namespace, and the
installed command works against a fresh database (schema and query files are shipped)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.wheel
def test_wheel_installs_and_runs(tmp_path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is required to build the wheel (see README)")
    subprocess.run([uv, "build", "--wheel", "-q", "-o", str(tmp_path / "dist"), str(ROOT)],
                   check=True)
    [wheel] = (tmp_path / "dist").glob("parallax-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.startswith("parallax-")}
    assert tops == {"parallax"}, tops  # no generic top-level `models`, `connectors`, …
    assert "parallax/models/schema/001_canonical.sql" in names
    assert "parallax/queries/loads.sql" in names
    assert "parallax/py.typed" in names  # PEP 561: the package says it is typed
    # From the sdist (which has no links: parallax/connectors etc. are links in the checkout),
    # the same wheel.
    subprocess.run([uv, "build", "-q", "-o", str(tmp_path / "via-sdist"), str(ROOT)], check=True)
    [again] = (tmp_path / "via-sdist").glob("parallax-*.whl")
    assert sorted(zipfile.ZipFile(again).namelist()) == sorted(names)

    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([uv, "pip", "install", "-q", "--python", str(py), str(wheel)], check=True)
    exe = venv / "bin" / "parallax"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True,
                         cwd=tmp_path)
    assert "ingest" in out.stdout
    env = {"PATH": "/usr/bin:/bin", "PARALLAX_KEY": "wheel-test-key-0123456789"}
    missing = subprocess.run([str(exe), "--db", str(tmp_path / "w.duckdb"), "loads"],
                             cwd=tmp_path, env=env, capture_output=True, text=True)
    assert missing.returncode == 2 and "no such database" in missing.stderr
    assert not (tmp_path / "w.duckdb").exists()  # a read command creates nothing
    # The whole pipeline from the installed wheel: demo files, ingest, join model, findings.
    demo = subprocess.run([str(exe), "--db", str(tmp_path / "d.duckdb"), "demo", "--out",
                           str(tmp_path / "demo"), "--sessions", "300"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stderr
    assert "correlate run" in demo.stdout and "routes" in demo.stdout
    # installed: the hints are `parallax …` as typed (no uv, no checkout)
    assert f"\n  parallax --db {tmp_path / 'd.duckdb'} review\n" in demo.stdout
    # The page templates, plots and lexicons travel in the wheel too.
    review = subprocess.run([str(exe), "--db", str(tmp_path / "d.duckdb"), "review", "--out",
                             str(tmp_path / "r.html")], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert review.returncode == 0, review.stderr
    assert "<svg" in (tmp_path / "r.html").read_text()
    words = subprocess.run([str(exe), "--db", str(tmp_path / "d.duckdb"), "verbatims",
                            "--format", "json"], cwd=tmp_path, env=env, capture_output=True,
                           text=True)
    assert words.returncode == 0 and '"topics"' in words.stdout, words.stderr
    probe = subprocess.run([str(py), "-c", "import models"], capture_output=True, cwd=tmp_path)
    assert probe.returncode != 0  # `models` is not a top-level module of ours
