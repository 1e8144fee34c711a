"""Shared by bench/pipeline_overhead.py and bench/reduce_scaling.py: a timed local Ray start,
machine-wide peak memory that counts Ray's object store, and folder sizes.

Ray's object store lives in /dev/shm, which Linux counts as shared memory (part of
"buff/cache"), not as `used`; so memory here is `used + shared`, sampled every 0.2 s.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil

GIB = float(1 << 30)


def memory_in_use() -> int:
    """Machine-wide memory in use: process memory plus shared memory (Ray's object store)."""
    vm = psutil.virtual_memory()
    return int(vm.used + vm.shared)


def tree_pss(root: psutil.Process) -> int:
    """Proportional set size of `root` and every process under it: Ray's raylet (which holds
    the object store), GCS and workers are descendants of the driver that started them, and
    PSS splits a shared page among the processes that map it, so nothing counts twice and
    other people's processes not at all."""
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            total += proc.memory_full_info().pss
        except psutil.Error:
            continue
    return total


class PeakMemory:
    """Peak machine-wide `used + shared` memory (the headline; other work on the machine
    counts too) and peak PSS summed over this process tree, sampled every `interval` s.
    `start` is the machine-wide level when sampling began."""

    def __init__(self, interval: float = 0.2) -> None:
        self.start = memory_in_use()
        self.interval = interval
        self.peak = self.start
        self.peak_tree_pss = 0
        self._root = psutil.Process(os.getpid())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, memory_in_use())
            self.peak_tree_pss = max(self.peak_tree_pss, tree_pss(self._root))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def above(self, baseline: int | None = None) -> float:
        """GiB the peak was above `baseline` (default: the level at the start)."""
        return round((self.peak - (self.start if baseline is None else baseline)) / GIB, 2)

    @property
    def tree_pss_gib(self) -> float:
        return round(self.peak_tree_pss / GIB, 2)


def start_ray(setup_hook: Callable[[], None] | None = None) -> float:
    """Start a fresh local Ray cluster on every CPU (quietly, no progress bars); seconds taken.
    `setup_hook` runs in every worker process before it runs any task or actor."""
    import ray

    runtime_env: dict[str, Any] = {}
    if setup_hook is not None:
        runtime_env["worker_process_setup_hook"] = setup_hook
    began = time.perf_counter()
    ray.init(
        address="local",
        num_cpus=os.cpu_count(),
        include_dashboard=False,
        log_to_driver=False,
        runtime_env=runtime_env or None,
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    return time.perf_counter() - began


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages (other people's work shares the CPUs)."""
    return [round(x, 2) for x in os.getloadavg()]


def folder_bytes(path: Path) -> int:
    """Bytes of every file under `path` (or of `path`, a file)."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - began
