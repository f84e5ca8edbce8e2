"""The spool holds raw data until the hand-off: its files are 0600 and its folders 0700,
whatever the umask lets through (issue 16)."""

from __future__ import annotations

import os
import stat

import pytest

from parallax.connectors.receive.spool import STREAMS, Spool, combine


@pytest.fixture
def lax_umask():
    old = os.umask(0o022)  # what most shells give: files 0644 unless told otherwise
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_batches_and_hand_off_files_are_the_owners_alone(tmp_path, lax_umask) -> None:
    spool = Spool(tmp_path / "spool")
    try:
        spool.write("feedback", [b'{"score": 1, "verbatim": "my e-mail is ann@example.com"}'])
        [batch] = spool.sealed("feedback")
        combined = combine(spool.root, "feedback", [batch])
        assert _mode(batch) == _mode(combined) == 0o600
        folders = [spool.root, *(spool.root / s.name for s in STREAMS),
                   spool.root / "handoff", spool.root / "failed"]
        assert {_mode(f) for f in folders} == {0o700}
    finally:
        spool.close()
