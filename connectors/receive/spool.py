"""The receiver's durable spool: each committed batch is one JSON-lines file on disk.

A batch is written to ``<stream>/<name>.tmp``, fsynced, renamed to ``<name>.jsonl`` and the
folder fsynced: once ``write`` returns the batch survives a crash, and that is when its
requests are acknowledged. The hand-off concatenates sealed batches into one file under
``handoff/``, loads it into the database and only then deletes the batches; a crash in
between loads them again, which the natural keys make harmless. Names sort in write order
(nanosecond clock, then a counter), across restarts too. Batches hold raw data until the
hand-off: files are created 0600 and folders 0700, for the receiver's user alone.

A write that fails (a full disk) leaves nothing behind. ``DiskSpace`` watches the spool's
file system: below ``min_free_bytes`` free, or after a write failed for want of space, the
receiver answers 503 until there is room again — logged once when it fills, once when it has
room again.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from pathlib import Path

from parallax.errors import ConfigError

__all__ = ["STREAMS", "DiskSpace", "Spool", "Stream", "combine", "done", "no_space",
           "quarantine", "sealed"]

log = logging.getLogger("parallax.serve")


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
        try:
            with _create(tmp) as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)  # a half-written batch must not hold the space
            raise
        tmp.rename(folder / f"{name}.jsonl")
        _fsync_dir(folder)
        return len(data)

    def sealed(self, stream: str) -> list[Path]:
        return sealed(self.root, stream)

    def size(self) -> tuple[int, int]:
        """(batch files, bytes) waiting for the hand-off."""
        files = [p for s in STREAMS for p in sealed(self.root, s.name)]
        return len(files), sum(_size(p) for p in files)


def no_space(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


_MARGIN = 1 << 20  # free beyond min_free_bytes before receiving again (no flapping)


class DiskSpace:
    """Whether the spool's disk has room: ``full`` is checked at most every ``every`` s."""

    def __init__(self, root: Path, min_free: int, every: float = 1.0) -> None:
        self.root, self.min_free, self.every = root, min_free, every
        self.full = False
        self._checked = float("-inf")
        self._need = min_free + _MARGIN  # free bytes wanted before receiving again

    def free(self) -> int:
        st = os.statvfs(self.root)
        if st.f_files and not st.f_favail:  # no inodes left: as good as no space
            return 0
        return st.f_bavail * st.f_frsize

    def check(self) -> bool:
        """True while the disk is full (cheap: ``statvfs`` at most every ``every`` s)."""
        now = time.monotonic()
        if now - self._checked < self.every:
            return self.full
        self._checked = now
        try:
            free = self.free()
        except OSError:
            return self.full
        if self.full and free >= self._need:
            self.full, self._need = False, self.min_free + _MARGIN
            log.warning("spool disk has room again (%.1f MB free): receiving", free / 1e6)
        elif not self.full and free < self.min_free:
            self._fill(free)
        return self.full

    def write_failed(self, exc: BaseException, size: int) -> None:
        """A spool write failed: when for want of space, stay full until there is room for
        a few writes like it."""
        if not no_space(exc):
            return
        self._need = max(self.min_free + _MARGIN, 4 * size)
        if not self.full:
            try:
                free = self.free()
            except OSError:
                free = 0
            self._fill(free)
        self._checked = time.monotonic()

    def _fill(self, free: int) -> None:
        self.full = True
        log.error("spool disk full (%.1f MB free in %s, min_free_bytes %d): answering 503 "
                  "until there is room", free / 1e6, self.root, self.min_free)


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
