"""The receiver's durable spool: each committed batch is one JSON-lines file on disk.

A batch is written to ``<stream>/<name>.tmp``, fsynced, renamed to ``<name>.jsonl`` and the
folder fsynced: once ``write`` returns the batch survives a crash, and that is when its
requests are acknowledged. The hand-off concatenates sealed batches into one file under
``handoff/``, loads it into the database and only then deletes the batches; a crash in
between loads them again, which the natural keys make harmless. Names sort in write order
(nanosecond clock, then a counter), across restarts too. Batches hold raw data until the
hand-off: files are created 0600 and folders 0700, for the receiver's user alone.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from pathlib import Path

from parallax.errors import ConfigError

__all__ = ["STREAMS", "Spool", "Stream", "combine", "done", "quarantine", "sealed"]


@dataclass(frozen=True)
class Stream:
    name: str  # folder in the spool
    kind: str  # ingest kind
    format: str  # file format the lines are in
    options: tuple[tuple[str, str], ...] = ()  # format options for the load


STREAMS = (
    Stream("traces", "traces", "otlp-jsonl"),
    Stream("feedback", "feedback", "feedback-ndjson", (("source", "receiver"),)),
    Stream("ratings", "feedback", "feedback-ndjson", (("source", "receiver"),)),
)


_PRIVATE_FILE, _PRIVATE_DIR = 0o600, 0o700


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._counter = count()
        root.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
        # One receiver per spool: two would hand off the same batches. The lock goes with
        # the process, however it ends.
        self._lock = open(root / ".lock", "a")  # noqa: SIM115
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            raise ConfigError(f"{root}: another parallax serve is using this spool") from None
        for s in STREAMS:
            (root / s.name).mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
        (root / "handoff").mkdir(mode=_PRIVATE_DIR, exist_ok=True)
        (root / "failed").mkdir(mode=_PRIVATE_DIR, exist_ok=True)
        for stale in (root / "handoff").iterdir():  # a crash mid hand-off: batches remain
            stale.unlink()
        for s in STREAMS:
            for stale in (root / s.name).glob("*.tmp"):  # never acknowledged
                stale.unlink()

    def close(self) -> None:
        self._lock.close()

    def write(self, stream: str, lines: Sequence[bytes]) -> int:
        """Write one batch durably; return its size in bytes."""
        folder = self.root / stream
        name = f"{time.time_ns():020d}-{next(self._counter):06d}"
        tmp = folder / f"{name}.tmp"
        data = b"\n".join(lines) + b"\n"
        with _create(tmp) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.rename(folder / f"{name}.jsonl")
        _fsync_dir(folder)
        return len(data)

    def sealed(self, stream: str) -> list[Path]:
        return sealed(self.root, stream)

    def size(self) -> tuple[int, int]:
        """(batch files, bytes) waiting for the hand-off."""
        files = [p for s in STREAMS for p in sealed(self.root, s.name)]
        return len(files), sum(_size(p) for p in files)


# The hand-off runs in another process: it works on the folder, not on the Spool object.

def sealed(root: Path, stream: str) -> list[Path]:
    """The stream's durable batches, oldest first."""
    return sorted((root / stream).glob("*.jsonl"))


def combine(root: Path, stream: str, batches: Sequence[Path]) -> Path:
    """One file holding ``batches`` in order, for a single load transaction."""
    out = root / "handoff" / f"{stream}-{batches[0].stem}.jsonl"
    with _create(out) as dst:
        for p in batches:
            with open(p, "rb") as src:
                shutil.copyfileobj(src, dst, 1 << 20)
    return out


def done(batches: Sequence[Path], combined: Path) -> None:
    """The batches are committed to the database: forget them."""
    for p in batches:
        p.unlink(missing_ok=True)
    combined.unlink(missing_ok=True)


def quarantine(root: Path, batches: Sequence[Path], combined: Path) -> Path:
    """Batches the loader refused as a file: kept under ``failed/`` for a manual load."""
    target = root / "failed"
    for p in batches:
        p.rename(target / f"{p.parent.name}-{p.name}")
    combined.unlink(missing_ok=True)
    return target


def _create(path: Path):
    """A new file only its owner can read and write (0600), replacing any."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE_FILE), "wb")


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except FileNotFoundError:
        return 0


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
