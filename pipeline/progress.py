"""Progress of the judge stage, from the acks of committed shards: rows done of the total,
judgments per second, errors so far and the time left. A bar on a terminal; in job logs one
summary line every LOG_EVERY_S seconds, and the last one at the end unless it is already there."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

LOG_EVERY_S = 30.0


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, every_s: float = LOG_EVERY_S):
        self.total = total
        self.rows = 0
        self.errored = 0
        self.judgments = 0
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.started = time.monotonic()
        self.logged = self.started
        self.logged_rows: int | None = None  # rows done when the last line was printed
        self.bar: Any = None
        if self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="row", file=self.stream, desc="judging")

    def update(self, rows: int, errored: int, judgments: int) -> None:
        self.rows += rows
        self.errored += errored
        self.judgments += judgments
        if self.bar is not None:
            self.bar.update(rows)
            self.bar.set_postfix(judgments_s=f"{self.rate():.1f}", errors=self.errored)
        elif time.monotonic() - self.logged >= self.every_s:
            self.logged = time.monotonic()
            self._log()

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.judgments / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        left = (self.total - self.rows) * elapsed / self.rows if self.rows else None
        eta = "unknown" if left is None else f"{left:.0f}s"
        share = 100 * self.rows / self.total if self.total else 100.0
        return (
            f"rayscore: {self.rows}/{self.total} rows ({share:.0f}%), {self.rate():.1f} "
            f"judgments/s, {self.errored} with errors, {eta} left"
        )

    def close(self) -> None:
        """The bar's last state stays on the terminal; a log gets the final line once."""
        if self.bar is not None:
            self.bar.close()
        elif self.logged_rows != self.rows:
            self._log()

    def _log(self) -> None:
        self.logged_rows = self.rows
        print(self.line(), file=self.stream, flush=True)
