"""When a warm judge has gone unused for its idle time-out: calls in flight keep it busy, the
time-out runs from the end of the last one (or from a run's touch: it found the judge and
is about to call it). Once it closes, every later call and touch fails cleanly
(WarmJudgeClosing), never half-way through when the actor ends."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator


class WarmJudgeClosing(RuntimeError):
    """The warm judge is ending (idle time-out): the caller should judge elsewhere."""


class IdleClock:
    def __init__(self, timeout_s: float | None, now: float | None = None) -> None:
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"--idle-timeout-s: {timeout_s:g}; more than 0 (or none)")
        self.timeout_s = timeout_s
        self.last_used = time.time() if now is None else now
        self.closing = False
        self._in_flight = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        """Around each call to the judge: it is busy until the call returns."""
        with self._lock:
            self._refuse_if_closing()
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self.last_used = time.time()

    def touch(self, now: float | None = None) -> None:
        """A run found this judge and will call it: the idle time starts again."""
        with self._lock:
            self._refuse_if_closing()
            self.last_used = max(self.last_used, time.time() if now is None else now)

    def expired(self, now: float | None = None) -> bool:
        if self.timeout_s is None:
            return False
        with self._lock:
            return self._expired(time.time() if now is None else now)

    def close_if_expired(self, now: float | None = None) -> bool:
        """Whether it has closed: once expired, it refuses every later call and touch."""
        if self.timeout_s is None:
            return False
        with self._lock:
            self.closing = self.closing or self._expired(time.time() if now is None else now)
            return self.closing

    def _expired(self, now: float) -> bool:
        assert self.timeout_s is not None
        return self._in_flight == 0 and now - self.last_used >= self.timeout_s

    def _refuse_if_closing(self) -> None:
        if self.closing:
            raise WarmJudgeClosing(
                f"this warm judge is closing: idle for {self.timeout_s:g} s (its time-out)"
            )
