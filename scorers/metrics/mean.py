from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from scorers.metrics.base import State
from scorers.metrics.values import as_numbers


class Mean:
    def zero(self) -> State:
        return {"n": 0, "sum": 0.0}

    def update(self, state: State, values: pa.Array, labels: pa.Array | None) -> State:
        numbers = as_numbers(values)
        return self.merge(state, {"n": len(numbers), "sum": pc.sum(numbers).as_py() or 0.0})

    def merge(self, a: State, b: State) -> State:
        return {"n": a["n"] + b["n"], "sum": a["sum"] + b["sum"]}

    def finalize(self, state: State) -> float | None:
        return state["sum"] / state["n"] if state["n"] else None
