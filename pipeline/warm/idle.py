"""When a warm judge has gone unused for its idle time-out: calls in flight keep it busy, the
time-out runs from the end of the last one."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator


class IdleClock:
    def __init__(self, timeout_s: float | None, now: float | None = None) -> None:
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"--idle-timeout-s: {timeout_s:g}; more than 0 (or none)")
        self.timeout_s = timeout_s
        self.last_used = time.time() if now is None else now
        self._in_flight = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        """Around each call to the judge: it is busy until the call returns."""
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self.last_used = time.time()

    def expired(self, now: float | None = None) -> bool:
        if self.timeout_s is None:
            return False
        with self._lock:
            idle = (time.time() if now is None else now) - self.last_used
            return self._in_flight == 0 and idle >= self.timeout_s
