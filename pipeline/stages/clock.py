"""Stages run in order, each one's wall time recorded under its name (the manifest's
`timings_s`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class StageClock:
    started: float = field(default_factory=time.time)
    timings: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, stage: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        began = time.time()
        output = stage(*args, **kwargs)
        self.timings[name] = round(time.time() - began, 3)
        return output
