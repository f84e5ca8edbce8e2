"""A full spool disk: 503 with Retry-After while it is full, logged once, receiving again by
itself when there is room — and a spool that filled its disk still hands off (it needed room
for a copy of its batches, so it failed every round, across restarts too)."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from parallax.connectors.receive.spool import Spool
from tests.connectors.receive.conftest import query
from tests.connectors.receive.test_traces import _json_doc

JSON = {"Content-Type": "application/json"}


def _post(url: str, n: int = 1) -> httpx.Response:
    doc = _json_doc(uuid.uuid4().hex, [uuid.uuid4().hex[:16] for _ in range(n)])
    return httpx.post(f"{url}/v1/traces", content=orjson.dumps(doc), headers=JSON, timeout=30)


def _until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_full_disk_answers_503_logs_once_and_recovers(serve, caplog):
    free = [0]
    with serve() as (url, receiver), caplog.at_level(logging.INFO, "parallax.serve"):
        receiver.disk.free = lambda: free[0]
        answers = [_post(url) for _ in range(5)]
        assert {r.status_code for r in answers} == {503}
        assert answers[0].headers["retry-after"] == "1"
        assert "spool disk is full" in answers[0].json()["message"]
        assert httpx.get(f"{url}/healthz").json()["status"] == "disk full"
        free[0] = 10 << 30  # room again: no restart needed
        assert _until(lambda: _post(url).status_code == 200, 5)
        assert httpx.get(f"{url}/healthz").json()["status"] == "ok"
    lines = [r.getMessage() for r in caplog.records]
    assert sum("spool disk full" in m for m in lines) == 1
    assert sum("spool disk has room again" in m for m in lines) == 1


def test_a_write_that_finds_the_disk_full_leaves_nothing_behind(serve, monkeypatch):
    with serve() as (url, receiver):
        real_fsync = os.fsync

        def no_space(fd):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "fsync", no_space)
        receiver.disk.free = lambda: 10 << 30  # statvfs says room: the write says otherwise
        r = _post(url)
        assert r.status_code == 503 and "spool disk is full" in r.json()["message"]
        assert list((receiver.spool.root / "traces").glob("*.tmp")) == []
        monkeypatch.setattr(os, "fsync", real_fsync)
        assert receiver.stats.disk_full
        assert _until(lambda: _post(url).status_code == 200, 5)


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 4 MiB tmpfs (root only)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path, leave: int) -> None:
    """Make ``path`` the file that leaves ``leave`` bytes free on its disk."""
    st = os.statvfs(path.parent)
    with open(path, "ab") as f:
        size = max(0, st.f_bavail * st.f_frsize - leave)
        if size:
            os.posix_fallocate(f.fileno(), f.tell(), size)


def test_a_spool_that_filled_its_disk_hands_off_and_receives_again(serve, tiny_disk,
                                                                    db_path):
    spool = Spool(tiny_disk / "spool")
    for i in range(60):  # ~1.6 MB acknowledged before the disk filled (and the restart)
        spool.write("traces", [orjson.dumps(_json_doc(f"{i + 1:032x}", [
            f"{i * 100 + k + 1:016x}" for k in range(100)]))])
    spool.close()
    filler = tiny_disk / "filler"
    _fill(filler, 64 << 10)  # no room for a copy of the batches, nor for a new one
    with serve(spool_dir=tiny_disk / "spool", min_free_bytes=256 << 10) as (url, receiver):
        assert _post(url).status_code == 503
        # The hand-off loads batch by batch where they lie, and so frees the disk.
        assert _until(lambda: receiver.stats.spans_handed_off == 6000, 60), receiver.stats
        assert _until(lambda: _post(url).status_code == 200, 5)
        _fill(filler, 0)  # full again
        assert _post(url).status_code == 503
        filler.unlink()
        assert _until(lambda: _post(url, 10).status_code == 200, 5)
    assert query(db_path, "SELECT count(*) FROM spans") == [(6011,)]
    assert not list((tiny_disk / "spool" / "traces").iterdir())


def test_a_failing_hand_off_is_logged_once_and_its_recovery_too(serve, caplog):
    with serve() as (url, receiver), caplog.at_level(logging.INFO, "parallax.serve"):
        real, calls = receiver.handoff.once, []

        def failing():
            calls.append(1)
            if len(calls) <= 6:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real()

        receiver.handoff.once = failing
        assert _until(lambda: len(calls) > 8, 20)
        assert "No space left" in receiver.stats.last_error
    lines = [r for r in caplog.records if "hand-off" in r.getMessage()]
    failed = [r for r in lines if "hand-off failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info is not None
    assert sum("hand-off works again (after 6 failed round(s))" in r.getMessage()
               for r in lines) == 1
