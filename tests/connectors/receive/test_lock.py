"""``parallax.db.connect`` waits for a database another process holds (the receiver's
hand-off), and says so in ``<db>.waiting`` meanwhile, so the hand-off lets it in first."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from parallax.connectors.receive.handoff import _command_waiting
from parallax.db import connect, is_locked, waiting_marker
from parallax.errors import DatabaseError

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def test_connect_waits_for_another_process_then_gets_in(db_path):
    connect(db_path).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db_path), "1.0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DatabaseError, match="cannot open database") as info:
            connect(db_path, wait=0)
        assert is_locked(info.value)
        assert not waiting_marker(db_path).exists()  # wait=0 (the hand-off) never announces
        t0 = time.monotonic()
        con = connect(db_path, read_only=True, wait=30)
        assert 0.2 < time.monotonic() - t0 < 30
        con.close()
        assert not waiting_marker(db_path).exists()  # removed once in
    finally:
        holder.wait(10)


def test_a_fresh_marker_makes_the_handoff_yield(db_path):
    assert not _command_waiting(db_path)
    waiting_marker(db_path).touch()
    assert _command_waiting(db_path)
