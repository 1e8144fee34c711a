"""min and max: one class, the comparison picked by name."""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from scorers.metrics.base import State
from scorers.metrics.values import as_numbers


class Extreme:
    def __init__(self, kind: Literal["min", "max"]) -> None:
        self.pick = min if kind == "min" else max
        self.compute = pc.min if kind == "min" else pc.max

    def zero(self) -> State:
        return {"value": None}

    def update(self, state: State, values: pa.Array, labels: pa.Array | None) -> State:
        numbers = as_numbers(values)
        block = self.compute(numbers).as_py() if len(numbers) else None
        return self.merge(state, {"value": block})

    def merge(self, a: State, b: State) -> State:
        present = [v for v in (a["value"], b["value"]) if v is not None]
        return {"value": self.pick(present) if present else None}

    def finalize(self, state: State) -> float | None:
        value = state["value"]
        return None if value is None else float(value)
