"""Peak resident memory of a process and its children, sampled while a block runs.

    with PeakRss(proc.pid) as rss:
        proc.communicate()
    rss.mib

Shared by the benchmarks; each measured phase runs in its own process, so the peak is that
phase's alone (parser workers and other children included).
"""

from __future__ import annotations

import threading
import time

import psutil

__all__ = ["PeakRss"]


class PeakRss:
    def __init__(self, pid: int, every_s: float = 0.05) -> None:
        self.pid, self.every_s, self.peak = pid, every_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @property
    def mib(self) -> float:
        return self.peak / 2**20

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        try:
            proc = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            try:
                rss = proc.memory_info().rss + sum(
                    c.memory_info().rss for c in proc.children(recursive=True))
            except psutil.Error:
                rss = 0
            self.peak = max(self.peak, rss)
            time.sleep(self.every_s)
