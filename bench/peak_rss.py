"""Peak resident memory of a process and its children, sampled while a block runs.

    with PeakRss(proc.pid) as rss:
        proc.communicate()
    rss.mib, rss.cpu_seconds

Shared by the benchmarks; each measured phase runs in its own process, so the peak is that
phase's alone (parser workers and other children included). ``cpu_seconds`` is the user +
system time of the process and every descendant seen, each at its last sample (so up to one
sampling interval short per process): on a shared machine less noisy than wall time.
"""

from __future__ import annotations

import threading
import time

import psutil

__all__ = ["PeakRss"]


class PeakRss:
    def __init__(self, pid: int, every_s: float = 0.05) -> None:
        self.pid, self.every_s, self.peak = pid, every_s, 0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @property
    def mib(self) -> float:
        return self.peak / 2**20

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())

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
            rss = 0
            try:
                tree = [proc, *proc.children(recursive=True)]
            except psutil.Error:
                tree = []
            for p in tree:
                try:
                    with p.oneshot():
                        rss += p.memory_info().rss
                        t = p.cpu_times()
                        self._cpu[p.pid] = max(self._cpu.get(p.pid, 0.0), t.user + t.system)
                except psutil.Error:
                    pass
            self.peak = max(self.peak, rss)
            time.sleep(self.every_s)
