"""Peak resident memory of a process and its children, sampled while a block runs.

    with PeakRss(proc.pid) as rss:
        proc.communicate()
    rss.mib, rss.cpu_seconds
    rss.root_mib, rss.children_mib  # the process alone; its descendants together

Shared by the benchmarks; each measured phase runs in its own process, so the peak is that
phase's alone (parser workers and other children included). ``cpu_seconds`` is the user +
system time of the process and every descendant seen, each at its last sample (so up to one
sampling interval short per process): on a shared machine less noisy than wall time. The
split by process tells a driver from the engine it starts (Spark's JVM is a child of the Python
driver in local mode): ``root_*`` is the process alone, ``children_*`` its descendants, each
peak taken over the samples (so ``root_mib + children_mib`` may exceed ``mib``).
"""

from __future__ import annotations

import threading
import time

import psutil

__all__ = ["PeakRss"]


class PeakRss:
    def __init__(self, pid: int, every_s: float = 0.05) -> None:
        self.pid, self.every_s, self.peak = pid, every_s, 0
        self.root_peak = self.children_peak = 0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @property
    def mib(self) -> float:
        return self.peak / 2**20

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())

    @property
    def root_mib(self) -> float:
        return self.root_peak / 2**20

    @property
    def children_mib(self) -> float:
        return self.children_peak / 2**20

    @property
    def root_cpu_seconds(self) -> float:
        return self._cpu.get(self.pid, 0.0)

    @property
    def children_cpu_seconds(self) -> float:
        return self.cpu_seconds - self.root_cpu_seconds

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
            rss = root = 0
            try:
                tree = [proc, *proc.children(recursive=True)]
            except psutil.Error:
                tree = []
            for p in tree:
                try:
                    with p.oneshot():
                        mine = p.memory_info().rss
                        t = p.cpu_times()
                        self._cpu[p.pid] = max(self._cpu.get(p.pid, 0.0), t.user + t.system)
                except psutil.Error:
                    continue
                rss += mine
                if p.pid == self.pid:
                    root = mine
            self.peak = max(self.peak, rss)
            self.root_peak = max(self.root_peak, root)
            self.children_peak = max(self.children_peak, rss - root)
            time.sleep(self.every_s)
