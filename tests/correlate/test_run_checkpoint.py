"""The window's tables are committed to the log only and checkpointed on a cursor of their own
while the statistics run (``run._Checkpoint``): the same findings, the setting put back, the
database whole when it is opened again, and an error of the checkpoint raised in the caller."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from parallax.correlate import correlate
from parallax.correlate import run as run_module
from parallax.db import connect
from tests.worlds import copy_database

TABLES = ("exposure_responses", "exposure_session_routes", "exposure_sessions",
          "exposure_delivery")


def _copy(small_demo: Path, folder: Path) -> Path:
    folder.mkdir()
    return copy_database(small_demo, folder)


def _run(db: Path) -> tuple[dict, int, str, str, dict]:
    """Findings, the WAL's size once correlate returned, the autocheckpoint setting before and
    after, and the window tables' row counts read after closing and opening again."""
    con = connect(db)
    try:
        setting = "SELECT current_setting('wal_autocheckpoint')"
        before = con.execute(setting).fetchone()[0]
        run = correlate(con)
        after = con.execute(setting).fetchone()[0]
        wal = db.with_name(db.name + ".wal")
        size = wal.stat().st_size if wal.exists() else 0
    finally:
        con.close()
    con = connect(db)
    try:
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()
    return ({(f.subject_kind, f.subject): f.to_json() for f in run.findings}, size, before,
            after, counts)


def test_the_window_is_checkpointed_while_the_statistics_run(small_demo, tmp_path,
                                                              monkeypatch) -> None:
    with_checkpoint = _run(_copy(small_demo, tmp_path / "a"))
    # the same run with the background checkpoint never started: the window's tables stay in
    # the log until the close
    monkeypatch.setattr(run_module._Checkpoint, "start", lambda self: None)
    without = _run(_copy(small_demo, tmp_path / "b"))
    findings, wal, before, after, counts = with_checkpoint
    assert findings == without[0]  # nothing the statistics read changed
    assert before == after == without[2] == without[3]  # the setting put back
    assert counts == without[4] and all(n > 0 for n in counts.values())
    # only the run's own rows are left in the log, not the window's tables
    assert 0 <= wal < without[1] / 4


class _FailingCursor:
    def execute(self, sql: str) -> None:
        raise duckdb.IOException(f"{sql}: no space left on device")

    def close(self) -> None:
        pass


class _Connection:
    def cursor(self) -> _FailingCursor:
        return _FailingCursor()


def test_a_failed_checkpoint_is_raised_where_it_is_joined() -> None:
    checkpoint = run_module._Checkpoint(_Connection())  # type: ignore[arg-type]
    checkpoint.join()  # never started: nothing to wait for, nothing raised
    checkpoint.start()
    checkpoint.start()  # one checkpoint however often the frames are reported read
    with pytest.raises(duckdb.IOException, match="FORCE CHECKPOINT: no space left"):
        checkpoint.join()


def test_a_failed_checkpoint_gives_way_to_the_statistics_error(small_demo, tmp_path,
                                                                monkeypatch) -> None:
    import parallax.correlate.conclude as conclude

    def broken(*args, **kwargs):
        kwargs["frames_read"]()  # the checkpoint starts, then the statistics fail
        raise ValueError("the statistics failed")

    monkeypatch.setattr(conclude, "conclude", broken)
    monkeypatch.setattr(run_module._Checkpoint, "_run",
                        lambda self, cursor: setattr(self, "_error", OSError("disk full")))
    con = connect(_copy(small_demo, tmp_path / "c"))
    try:
        with pytest.raises(ValueError, match="the statistics failed"):
            correlate(con)
    finally:
        con.close()
